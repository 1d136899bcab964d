// exp on float, emitted inline instead of as a call of llvm.exp.f32.
//
// Why: the loop vectorizer turns llvm.exp into calls of libmvec's _ZGVdN8v_expf, and a fused
// chain such as ((x*2+1).exp()*x).sum() then spends most of its time in the call and in the
// registers spilled around it (issue 6's compiled chain: 0.058 of LibTorch against a goal of
// 0.05). The sequence below is plain arithmetic, selects and integer ops, so the vectorizer
// keeps it in registers at any width.
//
// Method (Cody-Waite reduction, then a polynomial):
//   q = round_to_even(x * log2(e)),  r = (x - q*ln2_hi) - q*ln2_lo,  |r| <= ln2/2 (+ a little)
//   exp(x) = 2^q * exp(r),  exp(r) = 1 + (r + r^2 * P(r)),  P = Taylor terms 1/2! ... 1/7!
// ln2_hi has 15 significant bits, so q*ln2_hi is exact for |q| <= 256 and x - q*ln2_hi loses
// nothing. The first omitted Taylor term is below 0.13 ulp on |r| <= 0.35; with the rounding
// of the float arithmetic the result is within 1 ulp of the correctly rounded value for every
// float (checked exhaustively once; cpu_exp_test.cpp sweeps every 509th bit pattern), where
// libmvec's vector expf allows 4. The Horner steps and the reduction use llvm.fma: one rounding
// each, so the result is the same on every CPU (codegen_expr.cpp forms no FMA by contraction;
// an explicit fma is exact by definition). x86-64 CPUs with FMA3 (all since 2013) run it as one
// instruction; others call libm's fmaf, slower but equal.
//
// 2^q is applied as two exact power-of-two factors 2^(q/2) and 2^(q - q/2), each a normal
// float for every q the clamped input can give: so the one product that may leave the normal
// range (subnormal results, overflow to inf) rounds exactly once, like the true value would.
#include "kiln/backends/cpu/codegen_expr.h"

namespace kiln::backends::cpu::codegen {

llvm::Value* emit_exp_f32(llvm::IRBuilder<>& b, llvm::Value* x) {
  llvm::Type* f32 = b.getFloatTy();
  llvm::Type* i32 = b.getInt32Ty();
  auto f = [&](double c) { return llvm::ConstantFP::get(f32, c); };
  auto i = [&](int32_t c) { return llvm::ConstantInt::get(i32, static_cast<uint64_t>(c), true); };

  // exp(89) overflows and exp(-104) rounds to +0; clamping keeps q's int conversion in range.
  // NaN takes neither branch of the compares; what it computes below is never selected.
  llvm::Value* is_nan = b.CreateFCmpUNO(x, x);
  llvm::Value* c = b.CreateSelect(b.CreateFCmpOGT(x, f(89.0)), f(89.0), x);
  c = b.CreateSelect(b.CreateFCmpOLT(c, f(-104.0)), f(-104.0), c);

  auto fma = [&](llvm::Value* a, llvm::Value* m, llvm::Value* add) {
    return b.CreateIntrinsic(llvm::Intrinsic::fma, {f32}, {a, m, add});
  };
  llvm::Value* qf =
      b.CreateUnaryIntrinsic(llvm::Intrinsic::roundeven, b.CreateFMul(c, f(1.4426950408889634)));
  const float ln2_hi = 0.693145751953125f;  // 0x3f317200
  const float ln2_lo = 1.428606765330187e-06f;
  llvm::Value* r = fma(qf, f(-ln2_hi), c);
  r = fma(qf, f(-ln2_lo), r);

  // 1/7!, 1/6!, ..., 1/2!, in Horner order.
  const double taylor[] = {1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2};
  llvm::Value* p = f(taylor[0]);
  for (size_t k = 1; k < std::size(taylor); ++k) p = fma(p, r, f(taylor[k]));
  llvm::Value* exp_r = b.CreateFAdd(f(1.0), fma(b.CreateFMul(r, r), p, r));

  llvm::Value* q = b.CreateFreeze(b.CreateFPToSI(qf, i32));  // in [-150, 128] unless NaN
  llvm::Value* q_half = b.CreateAShr(q, i(1));
  auto power_of_two = [&](llvm::Value* k) {  // 2^k for k in [-75, 64]: a normal float
    return b.CreateBitCast(b.CreateShl(b.CreateAdd(k, i(127)), i(23)), f32);
  };
  llvm::Value* result =
      b.CreateFMul(b.CreateFMul(exp_r, power_of_two(q_half)), power_of_two(b.CreateSub(q, q_half)));
  return b.CreateSelect(is_nan, x, result);
}

}  // namespace kiln::backends::cpu::codegen
