// Internal to the CPU code generator (codegen*.cpp): how one element of each dtype is held in
// LLVM IR and how the scalar ops of the loop IR compute on it. It includes LLVM headers, so no
// header that other code sees may include it.
//
// Every expression value is held in the *storage form* of its dtype: float and double as such,
// float16 and bfloat16 as their 16 bits (i16), integers at their width (i8 ... i64), bool as
// i1. An op converts its operands to the compute form (float for float32/float16/bfloat16,
// double for float64, i64 for integers and bool), computes, and converts back. The round trip
// is exactly where the interpreter stores a node into a buffer, so a fused chain rounds
// (float16: to nearest even) or wraps (int8: at 8 bits) after every op as the node-by-node
// interpreter does, and `where` selects bit patterns like the interpreter's byte copy. LLVM
// removes the conversions that cancel (sext/trunc of integers).
#pragma once

#include "absl/types/span.h"
#include "kiln/ir/kernel.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"

namespace kiln::backends::cpu::codegen {

// Why `op` cannot be emitted natively for these operand and result dtypes ("" when it can).
// Integer division (which must raise ZeroDivisionError) and integer pow run on the evaluator.
std::string why_not_op(ir::Op op, absl::Span<const DType> operands, DType result);

// exp of a float value, inline arithmetic within 1 ulp (codegen_exp.cpp) rather than a libm or
// libmvec call.
llvm::Value* emit_exp_f32(llvm::IRBuilder<>& b, llvm::Value* x);

class ScalarEmitter {
 public:
  ScalarEmitter(llvm::IRBuilder<>& builder, llvm::Module& module) : b_(builder), module_(module) {}

  // The element type in a buffer (bool: one byte), the storage form in registers (bool: i1)
  // and the compute form (float, double or i64).
  llvm::Type* memory_type(DType t) const;
  llvm::Type* value_type(DType t) const;
  llvm::Type* compute_type(DType t) const;

  // Buffers may be borrowed with any alignment, so accesses claim byte alignment only (x86
  // loads and stores, vector ones included, do not care).
  llvm::Value* load(DType t, llvm::Value* address);
  void store(DType t, llvm::Value* value, llvm::Value* address);

  // A constant of dtype t in storage form, converted like the interpreter's constant nodes.
  llvm::Value* constant(DType t, const Scalar& value);
  // The storage form of dtype t held in the low bits of an i64 (see constant_bits).
  llvm::Value* from_bits(DType t, llvm::Value* bits);

  llvm::Value* to_compute(DType t, llvm::Value* value);
  // Rounds (float16/bfloat16), narrows (float64 never: its compute form is double), wraps
  // (integers) or tests != 0 (bool) a compute value into storage form.
  llvm::Value* from_compute(DType t, llvm::Value* value);
  // Truth value (x != 0; NaN is true) of a compute value, as i1.
  llvm::Value* truth(llvm::Value* compute);

  // The value of elementwise `op` (result dtype `result`) over operands in storage form.
  llvm::Value* op(ir::Op op, DType result, absl::Span<const DType> operand_types,
                  absl::Span<llvm::Value* const> operands);

  llvm::IRBuilder<>& builder() { return b_; }

 private:
  llvm::Value* cast(DType from, DType to, llvm::Value* value);
  llvm::Value* unary(ir::Op op, llvm::Value* x);
  llvm::Value* binary(ir::Op op, llvm::Value* x, llvm::Value* y);
  llvm::Value* compare(ir::Op op, llvm::Value* x, llvm::Value* y);
  // float_to_int64 of the interpreter: truncation toward zero, saturating, NaN -> 0.
  llvm::Value* float_to_int64(llvm::Value* x);
  // A call of libm's `name` (float: `name` + "f") on x.
  llvm::Value* libm(const char* name, llvm::Value* x);
  // exp of a compute value: inline for float, llvm.exp (libm/libmvec) for double.
  llvm::Value* exp(llvm::Value* x);
  // The module's helper functions for the 16-bit float formats (internal, always inlined).
  llvm::Function* helper(const char* name);

  llvm::IRBuilder<>& b_;
  llvm::Module& module_;
};

}  // namespace kiln::backends::cpu::codegen
