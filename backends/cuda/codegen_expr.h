// Internal to the CUDA code generator (codegen*.cpp): how each dtype is held in CUDA C and how
// the scalar ops of the loop IR compute on it, as C expression strings.
//
// Like the CPU backend's codegen_expr.h, every expression value is a variable in the *storage
// form* of its dtype (float, double, u16 bits for float16/bfloat16, integers at their width,
// bool as bool); an op converts its operands to the compute form (float for
// float32/float16/bfloat16, double for float64, i64 for integers and bool), computes, and
// converts back, which is where the interpreter stores a node into a buffer.
#pragma once

#include <string>

#include "absl/types/span.h"
#include "kiln/ir/kernel.h"

namespace kiln::backends::cuda::codegen {

// The element type in memory (bool: unsigned char), in registers (bool: bool), and the
// compute type (float, double or i64).
std::string memory_type(DType t);
std::string value_type(DType t);
std::string compute_type(DType t);

// The storage form of dtype t from `bits`, a C expression of type i64/u64 holding the stored
// bits in its low bits (cpu::constant_bits).
std::string from_bits(DType t, const std::string& bits);
// A storage value read from memory (`m`, of memory_type) and the memory form of a value.
std::string from_memory(DType t, const std::string& m);
std::string to_memory(DType t, const std::string& v);

std::string to_compute(DType t, const std::string& v);
std::string from_compute(DType t, const std::string& c);

// The storage-form value of elementwise `op` with result dtype `result` over operands in
// storage form. `error_word` names the int* that integer division flags a zero divisor in.
// `constant_exponent`: for pow, the exponent's value when it is a compiled-in constant.
std::string op_expr(ir::Op op, DType result, absl::Span<const DType> operand_types,
                    absl::Span<const std::string> operands, const std::string& error_word,
                    const Scalar* constant_exponent);

}  // namespace kiln::backends::cuda::codegen
