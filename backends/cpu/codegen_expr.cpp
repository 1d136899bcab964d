// Scalar code of the CPU backend: dtype conversions and the elementwise ops of the loop IR,
// bit for bit like the reference interpreter (backends/interp/element.h, elementwise.cpp,
// binary.cpp) wherever IEEE arithmetic fixes the result. No fast-math flag is set here:
// contraction into FMA, reassociation or NaN assumptions would all change results.
#include "kiln/backends/cpu/codegen_expr.h"

#include "kiln/backends/cpu/codegen.h"

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"
#include "llvm/IR/Intrinsics.h"

namespace kiln::backends::cpu::codegen {
namespace {

using ir::Op;

// Integers and bool: the storage width in bits (bool: 1, as i1).
unsigned int_bits(DType t) {
  if (t == boolean) return 1;
  return static_cast<unsigned>(itemsize(t) * 8);
}

}  // namespace

std::string why_not_op(Op op, absl::Span<const DType> operands, DType result) {
  const bool floating = !operands.empty() && is_floating_point(operands[0]);
  switch (op) {
    // Leaves, reductions, movement, indexing and library ops are never kernel expressions.
    case Op::input:
    case Op::constant:
    case Op::sum:
    case Op::prod:
    case Op::amax:
    case Op::amin:
    case Op::argmax:
    case Op::argmin:
    case Op::reshape:
    case Op::permute:
    case Op::expand:
    case Op::slice:
    case Op::as_strided:
    case Op::cat:
    case Op::as_strided_scatter:
    case Op::index:
    case Op::index_put:
    case Op::matmul:
      return absl::StrCat(sv(ir::op_name(op)), " is not an elementwise kernel expression");
    case Op::div:
    case Op::pow:
      // Integer division raises ZeroDivisionError, which a kernel cannot; integer pow needs a
      // loop per element. Both are rare enough to run on the evaluator.
      if (!floating) return absl::StrCat("integer ", sv(ir::op_name(op)), " runs on the evaluator");
      return "";
    case Op::sqrt:
    case Op::rsqrt:
    case Op::reciprocal:
    case Op::exp:
    case Op::expm1:
    case Op::log:
    case Op::log2:
    case Op::log10:
    case Op::log1p:
    case Op::sin:
    case Op::cos:
    case Op::tan:
    case Op::tanh:
    case Op::sigmoid:
    case Op::erf:
      if (!floating) return absl::StrCat(sv(ir::op_name(op)), " of an integer operand");
      return "";
    case Op::neg:
    case Op::abs:
    case Op::sign:
    case Op::relu:
    case Op::floor:
    case Op::ceil:
    case Op::round:
    case Op::trunc:
    case Op::logical_not:
    case Op::cast:
    case Op::add:
    case Op::sub:
    case Op::mul:
    case Op::maximum:
    case Op::minimum:
    case Op::eq:
    case Op::ne:
    case Op::lt:
    case Op::le:
    case Op::gt:
    case Op::ge:
    case Op::logical_and:
    case Op::logical_or:
    case Op::where:
      (void)result;
      return "";
  }
  return "unknown op";
}

llvm::Type* ScalarEmitter::memory_type(DType t) const {
  if (t == boolean) return b_.getInt8Ty();
  return value_type(t);
}

llvm::Type* ScalarEmitter::value_type(DType t) const {
  switch (t.kind()) {
    case DType::Kind::kFloat32:
      return b_.getFloatTy();
    case DType::Kind::kFloat64:
      return b_.getDoubleTy();
    case DType::Kind::kFloat16:
    case DType::Kind::kBFloat16:
      return b_.getInt16Ty();
    case DType::Kind::kInt8:
    case DType::Kind::kInt16:
    case DType::Kind::kInt32:
    case DType::Kind::kInt64:
    case DType::Kind::kUInt8:
    case DType::Kind::kBool:
      return b_.getIntNTy(int_bits(t));
  }
  throw Error("cpu codegen: unknown dtype");
}

llvm::Type* ScalarEmitter::compute_type(DType t) const {
  if (t == float64) return b_.getDoubleTy();
  if (is_floating_point(t)) return b_.getFloatTy();
  return b_.getInt64Ty();
}

llvm::Value* ScalarEmitter::load(DType t, llvm::Value* address) {
  llvm::Value* v = b_.CreateAlignedLoad(memory_type(t), address, llvm::Align(1));
  // Any nonzero byte reads as true, like the interpreter's load of a bool.
  if (t == boolean) return b_.CreateICmpNE(v, b_.getInt8(0));
  return v;
}

void ScalarEmitter::store(DType t, llvm::Value* value, llvm::Value* address) {
  if (t == boolean) value = b_.CreateZExt(value, b_.getInt8Ty());
  b_.CreateAlignedStore(value, address, llvm::Align(1));
}

llvm::Value* ScalarEmitter::constant(DType t, const Scalar& value) {
  return from_bits(t, b_.getInt64(constant_bits(t, value)));
}

llvm::Value* ScalarEmitter::from_bits(DType t, llvm::Value* bits) {
  if (t == boolean) return b_.CreateICmpNE(bits, b_.getInt64(0));
  const unsigned width = static_cast<unsigned>(itemsize(t) * 8);
  return b_.CreateBitCast(b_.CreateTruncOrBitCast(bits, b_.getIntNTy(width)), value_type(t));
}

llvm::Value* ScalarEmitter::to_compute(DType t, llvm::Value* v) {
  switch (t.kind()) {
    case DType::Kind::kFloat32:
    case DType::Kind::kFloat64:
      return v;
    case DType::Kind::kFloat16:
      return b_.CreateCall(helper("kiln.f16_to_f32"), {v});
    case DType::Kind::kBFloat16:
      return b_.CreateBitCast(b_.CreateShl(b_.CreateZExt(v, b_.getInt32Ty()), 16), b_.getFloatTy());
    case DType::Kind::kUInt8:
    case DType::Kind::kBool:
      return b_.CreateZExt(v, b_.getInt64Ty());
    case DType::Kind::kInt8:
    case DType::Kind::kInt16:
    case DType::Kind::kInt32:
    case DType::Kind::kInt64:
      return b_.CreateSExtOrBitCast(v, b_.getInt64Ty());
  }
  throw Error("cpu codegen: unknown dtype");
}

llvm::Value* ScalarEmitter::from_compute(DType t, llvm::Value* v) {
  switch (t.kind()) {
    case DType::Kind::kFloat32:
    case DType::Kind::kFloat64:
      return v;
    case DType::Kind::kFloat16:
      return b_.CreateCall(helper("kiln.f32_to_f16"), {v});
    case DType::Kind::kBFloat16:
      return b_.CreateCall(helper("kiln.f32_to_bf16"), {v});
    case DType::Kind::kBool:
      return b_.CreateICmpNE(v, b_.getInt64(0));
    case DType::Kind::kInt8:
    case DType::Kind::kInt16:
    case DType::Kind::kInt32:
    case DType::Kind::kInt64:
    case DType::Kind::kUInt8:
      return b_.CreateTruncOrBitCast(v, value_type(t));
  }
  throw Error("cpu codegen: unknown dtype");
}

llvm::Value* ScalarEmitter::truth(llvm::Value* x) {
  if (x->getType()->isFloatingPointTy())
    return b_.CreateFCmpUNE(x, llvm::ConstantFP::get(x->getType(), 0.0));  // NaN is true
  return b_.CreateICmpNE(x, llvm::ConstantInt::get(x->getType(), 0));
}

llvm::Value* ScalarEmitter::float_to_int64(llvm::Value* x) {
  if (x->getType()->isFloatTy()) x = b_.CreateFPExt(x, b_.getDoubleTy());  // exact
  llvm::Type* f64 = b_.getDoubleTy();
  const double two63 = 9223372036854775808.0;
  // fptosi of an out-of-range value is poison; freeze turns it into some number that the
  // selects below then discard.
  llvm::Value* t = b_.CreateFreeze(b_.CreateFPToSI(x, b_.getInt64Ty()));
  llvm::Value* r = b_.CreateSelect(b_.CreateFCmpOLT(x, llvm::ConstantFP::get(f64, -two63)),
                                   b_.getInt64(std::numeric_limits<int64_t>::min()), t);
  r = b_.CreateSelect(b_.CreateFCmpOGE(x, llvm::ConstantFP::get(f64, two63)),
                      b_.getInt64(std::numeric_limits<int64_t>::max()), r);
  return b_.CreateSelect(b_.CreateFCmpUNO(x, x), b_.getInt64(0), r);
}

llvm::Value* ScalarEmitter::cast(DType from, DType to, llvm::Value* v) {
  llvm::Value* x = to_compute(from, v);
  if (to == boolean) return truth(x);  // 0.5 and NaN are true, not truncated to 0
  llvm::Type* target = compute_type(to);
  llvm::Value* c = x;
  if (target->isIntegerTy()) {
    if (x->getType()->isFloatingPointTy()) c = float_to_int64(x);
  } else if (x->getType()->isIntegerTy()) {
    c = b_.CreateSIToFP(x, target);  // one rounding, like static_cast<float>(int64_t)
  } else {
    c = b_.CreateFPCast(x, target);  // double -> float rounds once, then float16 again
  }
  return from_compute(to, c);
}

llvm::Value* ScalarEmitter::libm(const char* name, llvm::Value* x) {
  llvm::Type* type = x->getType();
  const std::string symbol = type->isFloatTy() ? absl::StrCat(name, "f") : std::string(name);
  llvm::FunctionCallee callee =
      module_.getOrInsertFunction(symbol, llvm::FunctionType::get(type, {type}, false));
  if (auto* fn = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    // errno is the only state these touch and nothing reads it: let LLVM treat them as pure.
    fn->setDoesNotAccessMemory();
    fn->setDoesNotThrow();
    fn->setWillReturn();
  }
  return b_.CreateCall(callee, {x});
}

llvm::Value* ScalarEmitter::exp(llvm::Value* x) {
  if (x->getType()->isFloatTy()) return emit_exp_f32(b_, x);
  return b_.CreateUnaryIntrinsic(llvm::Intrinsic::exp, x);
}

llvm::Value* ScalarEmitter::unary(Op op, llvm::Value* x) {
  llvm::Type* type = x->getType();
  const bool floating = type->isFloatingPointTy();
  llvm::Value* zero = llvm::Constant::getNullValue(type);
  auto fconst = [&](double c) { return llvm::ConstantFP::get(type, c); };
  switch (op) {
    case Op::neg:
      return floating ? b_.CreateFNeg(x) : b_.CreateSub(zero, x);  // wraps at INT64_MIN
    case Op::abs:
      if (floating) return b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
      return b_.CreateSelect(b_.CreateICmpSLT(x, zero), b_.CreateSub(zero, x), x);
    case Op::sign: {
      // (0 < x) - (x < 0): NaN and -0.0 give +0.
      llvm::Value* pos = floating ? b_.CreateFCmpOGT(x, zero) : b_.CreateICmpSGT(x, zero);
      llvm::Value* neg = floating ? b_.CreateFCmpOLT(x, zero) : b_.CreateICmpSLT(x, zero);
      llvm::Value* s =
          b_.CreateSub(b_.CreateZExt(pos, b_.getInt32Ty()), b_.CreateZExt(neg, b_.getInt32Ty()));
      return floating ? b_.CreateSIToFP(s, type) : b_.CreateSExt(s, type);
    }
    case Op::relu: {
      // x < 0 is false for NaN (and -0.0), which pass through.
      llvm::Value* negative = floating ? b_.CreateFCmpOLT(x, zero) : b_.CreateICmpSLT(x, zero);
      return b_.CreateSelect(negative, zero, x);
    }
    case Op::sqrt:
      return b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x);
    case Op::rsqrt:
      return b_.CreateFDiv(fconst(1.0), b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x));
    case Op::reciprocal:
      return b_.CreateFDiv(fconst(1.0), x);
    case Op::exp:
      return exp(x);
    case Op::expm1:
      return libm("expm1", x);
    case Op::log:
      return b_.CreateUnaryIntrinsic(llvm::Intrinsic::log, x);
    case Op::log2:
      return b_.CreateUnaryIntrinsic(llvm::Intrinsic::log2, x);
    case Op::log10:
      return b_.CreateUnaryIntrinsic(llvm::Intrinsic::log10, x);
    case Op::log1p:
      return libm("log1p", x);
    case Op::sin:
      return b_.CreateUnaryIntrinsic(llvm::Intrinsic::sin, x);
    case Op::cos:
      return b_.CreateUnaryIntrinsic(llvm::Intrinsic::cos, x);
    case Op::tan:
      return libm("tan", x);
    case Op::tanh:
      return libm("tanh", x);
    case Op::sigmoid:
      return b_.CreateFDiv(fconst(1.0), b_.CreateFAdd(fconst(1.0), exp(b_.CreateFNeg(x))));
    case Op::erf:
      return libm("erf", x);
    // Rounding is the identity on integers.
    case Op::floor:
      return floating ? b_.CreateUnaryIntrinsic(llvm::Intrinsic::floor, x) : x;
    case Op::ceil:
      return floating ? b_.CreateUnaryIntrinsic(llvm::Intrinsic::ceil, x) : x;
    case Op::round:  // half to even, like nearbyint in the default rounding mode
      return floating ? b_.CreateUnaryIntrinsic(llvm::Intrinsic::roundeven, x) : x;
    case Op::trunc:
      return floating ? b_.CreateUnaryIntrinsic(llvm::Intrinsic::trunc, x) : x;
    default:
      break;
  }
  throw Error(absl::StrCat("cpu codegen: ", sv(ir::op_name(op)), " is not a unary op"));
}

llvm::Value* ScalarEmitter::binary(Op op, llvm::Value* x, llvm::Value* y) {
  const bool floating = x->getType()->isFloatingPointTy();
  switch (op) {
    case Op::add:  // integers wrap: no nsw/nuw flags
      return floating ? b_.CreateFAdd(x, y) : b_.CreateAdd(x, y);
    case Op::sub:
      return floating ? b_.CreateFSub(x, y) : b_.CreateSub(x, y);
    case Op::mul:
      return floating ? b_.CreateFMul(x, y) : b_.CreateMul(x, y);
    case Op::div:
      return b_.CreateFDiv(x, y);  // floating only (why_not_op)
    case Op::pow:
      return b_.CreateBinaryIntrinsic(llvm::Intrinsic::pow, x, y);
    case Op::maximum:
    case Op::minimum: {
      // NaN wins (the first one), ties keep x: exactly the interpreter's selects, which the
      // maxnum/maximum intrinsics do not reproduce for NaN and signed zeros.
      llvm::Value* take_y = op == Op::maximum
                                ? (floating ? b_.CreateFCmpOLT(x, y) : b_.CreateICmpSLT(x, y))
                                : (floating ? b_.CreateFCmpOLT(y, x) : b_.CreateICmpSLT(y, x));
      llvm::Value* r = b_.CreateSelect(take_y, y, x);
      if (floating) {
        r = b_.CreateSelect(b_.CreateFCmpUNO(y, y), y, r);
        r = b_.CreateSelect(b_.CreateFCmpUNO(x, x), x, r);
      }
      return r;
    }
    default:
      break;
  }
  throw Error(absl::StrCat("cpu codegen: ", sv(ir::op_name(op)), " is not a binary op"));
}

llvm::Value* ScalarEmitter::compare(Op op, llvm::Value* x, llvm::Value* y) {
  const bool f = x->getType()->isFloatingPointTy();
  switch (op) {
    case Op::eq:
      return f ? b_.CreateFCmpOEQ(x, y) : b_.CreateICmpEQ(x, y);
    case Op::ne:  // NaN != NaN
      return f ? b_.CreateFCmpUNE(x, y) : b_.CreateICmpNE(x, y);
    case Op::lt:
      return f ? b_.CreateFCmpOLT(x, y) : b_.CreateICmpSLT(x, y);
    case Op::le:
      return f ? b_.CreateFCmpOLE(x, y) : b_.CreateICmpSLE(x, y);
    case Op::gt:
      return f ? b_.CreateFCmpOGT(x, y) : b_.CreateICmpSGT(x, y);
    case Op::ge:
      return f ? b_.CreateFCmpOGE(x, y) : b_.CreateICmpSGE(x, y);
    default:
      break;
  }
  throw Error(absl::StrCat("cpu codegen: ", sv(ir::op_name(op)), " is not a comparison"));
}

llvm::Value* ScalarEmitter::op(Op op, DType result, absl::Span<const DType> types,
                               absl::Span<llvm::Value* const> v) {
  if (op == Op::cast) return cast(types[0], result, v[0]);
  // where selects storage bit patterns, as the interpreter copies bytes.
  if (op == Op::where) return b_.CreateSelect(v[0], v[1], v[2]);
  if (op == Op::logical_not) return b_.CreateNot(truth(to_compute(types[0], v[0])));
  if (op == Op::logical_and || op == Op::logical_or) {
    llvm::Value* x = truth(to_compute(types[0], v[0]));
    llvm::Value* y = truth(to_compute(types[1], v[1]));
    return op == Op::logical_and ? b_.CreateAnd(x, y) : b_.CreateOr(x, y);
  }
  if (ir::has_trait(op, ir::kComparison))
    return compare(op, to_compute(types[0], v[0]), to_compute(types[1], v[1]));
  if (v.size() == 1) return from_compute(result, unary(op, to_compute(types[0], v[0])));
  if (v.size() == 2)
    return from_compute(result, binary(op, to_compute(types[0], v[0]), to_compute(types[1], v[1])));
  throw Error(absl::StrCat("cpu codegen: cannot emit ", sv(ir::op_name(op))));
}

// ---- float16 / bfloat16 conversions, as internal functions the inliner folds in ----
//
// They reproduce runtime/half.h bit for bit, NaN payloads included (hardware conversions
// keep payload bits that Half::from_float drops), with selects only, so loops vectorize.

llvm::Function* ScalarEmitter::helper(const char* name) {
  if (llvm::Function* existing = module_.getFunction(name)) return existing;
  llvm::LLVMContext& ctx = module_.getContext();
  llvm::Type* i16 = llvm::Type::getInt16Ty(ctx);
  llvm::Type* i32 = llvm::Type::getInt32Ty(ctx);
  llvm::Type* f32 = llvm::Type::getFloatTy(ctx);
  const std::string_view n(name);
  const bool to_f32 = n == "kiln.f16_to_f32";
  llvm::FunctionType* type = to_f32 ? llvm::FunctionType::get(f32, {i16}, false)
                                    : llvm::FunctionType::get(i16, {f32}, false);
  auto* fn = llvm::Function::Create(type, llvm::Function::InternalLinkage, name, module_);
  fn->addFnAttr(llvm::Attribute::AlwaysInline);
  fn->setDoesNotAccessMemory();
  fn->setDoesNotThrow();
  fn->setWillReturn();
  llvm::IRBuilder<> h(llvm::BasicBlock::Create(ctx, "entry", fn));
  auto c32 = [&](uint32_t c) { return h.getInt32(c); };
  llvm::Value* arg = fn->getArg(0);

  if (to_f32) {  // Half::to_float
    llvm::Value* x = h.CreateZExt(arg, i32);
    llvm::Value* sign = h.CreateShl(h.CreateAnd(x, c32(0x8000u)), 16);
    llvm::Value* exp = h.CreateAnd(h.CreateLShr(x, 10), c32(0x1fu));
    llvm::Value* mant = h.CreateAnd(x, c32(0x3ffu));
    llvm::Value* mant13 = h.CreateShl(mant, 13);
    // Subnormal: mant * 2^-24 (exact), with the sign bit set like -v.
    llvm::Value* sub =
        h.CreateFMul(h.CreateUIToFP(mant, f32), llvm::ConstantFP::get(f32, 5.9604644775390625e-08));
    sub = h.CreateOr(h.CreateBitCast(sub, i32), sign);
    llvm::Value* infnan = h.CreateOr(h.CreateOr(sign, c32(0x7f800000u)), mant13);
    llvm::Value* normal =
        h.CreateOr(h.CreateOr(sign, h.CreateShl(h.CreateAdd(exp, c32(112u)), 23)), mant13);
    llvm::Value* bits = h.CreateSelect(h.CreateICmpEQ(exp, c32(31u)), infnan, normal);
    bits = h.CreateSelect(h.CreateICmpEQ(exp, c32(0u)), sub, bits);
    h.CreateRet(h.CreateBitCast(bits, f32));
    return fn;
  }

  llvm::Value* x = h.CreateBitCast(arg, i32);
  if (n == "kiln.f32_to_bf16") {  // BFloat16::from_float
    llvm::Value* high = h.CreateLShr(x, 16);
    llvm::Value* nan = h.CreateOr(high, c32(0x40u));
    llvm::Value* lsb = h.CreateAnd(high, c32(1u));
    llvm::Value* rounded = h.CreateLShr(h.CreateAdd(h.CreateAdd(x, c32(0x7fffu)), lsb), 16);
    llvm::Value* is_nan = h.CreateICmpUGT(h.CreateAnd(x, c32(0x7fffffffu)), c32(0x7f800000u));
    h.CreateRet(h.CreateTrunc(h.CreateSelect(is_nan, nan, rounded), i16));
    return fn;
  }
  if (n != "kiln.f32_to_f16") throw Error(absl::StrCat("cpu codegen: no helper ", sv(n)));
  // Half::from_float
  llvm::Value* sign = h.CreateAnd(h.CreateLShr(x, 16), c32(0x8000u));
  llvm::Value* abs = h.CreateAnd(x, c32(0x7fffffffu));
  llvm::Value* inf = h.CreateOr(sign, c32(0x7c00u));
  llvm::Value* quiet = h.CreateSelect(h.CreateICmpUGT(abs, c32(0x7f800000u)), c32(0x200u), c32(0u));
  llvm::Value* infnan = h.CreateOr(inf, quiet);
  // Subnormal or zero in half: scale into the 10-bit field and round half to even through a
  // float addition of 2^23 (the same two roundings as the C++).
  llvm::Value* scaled =
      h.CreateFMul(h.CreateBitCast(abs, f32), llvm::ConstantFP::get(f32, 16777216.0));
  llvm::Value* magic = llvm::ConstantFP::get(f32, 8388608.0);
  llvm::Value* units = h.CreateFSub(h.CreateFAdd(scaled, magic), magic);
  // Out of range (poison) except where this branch is selected: frozen, then discarded.
  llvm::Value* sub = h.CreateOr(sign, h.CreateFreeze(h.CreateFPToUI(units, i32)));
  llvm::Value* odd = h.CreateAnd(h.CreateLShr(abs, 13), c32(1u));
  llvm::Value* rounded = h.CreateAdd(h.CreateAdd(abs, c32(0xfffu)), odd);
  llvm::Value* normal = h.CreateOr(sign, h.CreateLShr(h.CreateSub(rounded, c32(0x38000000u)), 13));
  llvm::Value* bits = h.CreateSelect(h.CreateICmpULT(abs, c32(0x38800000u)), sub, normal);
  bits = h.CreateSelect(h.CreateICmpUGE(abs, c32(0x477ff000u)), inf, bits);
  bits = h.CreateSelect(h.CreateICmpUGE(abs, c32(0x7f800000u)), infnan, bits);
  h.CreateRet(h.CreateTrunc(bits, i16));
  return fn;
}

}  // namespace kiln::backends::cpu::codegen
