// Elementwise math, comparisons and in-place ops against PyTorch: every "ops." row of
// op_cases.inc (make_op_cases.py holds the torch expression of each name).
#include "op_cases.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT: the inputs in_x() ... and inplace()

const double kNan = std::numeric_limits<double>::quiet_NaN();

CaseTable elementwise_cases() {
  return {
      {"ops.add", [] { return in_x() + in_x3()[0]; }},
      {"ops.add_scalar", [] { return in_x() + 2; }},
      {"ops.radd_scalar", [] { return 2.5 + in_xi(); }},
      {"ops.sub_bcast", [] { return in_x() - in_v4(); }},
      {"ops.rsub_scalar", [] { return 1 - in_x(); }},
      {"ops.mul_int", [] { return in_xi() * in_xi(); }},
      {"ops.mul_mixed", [] { return in_xi() * 0.5; }},
      {"ops.div", [] { return in_x() / in_v4(); }},
      {"ops.div_int", [] { return in_xi() / 2; }},
      {"ops.div_int_by_zero",
       [] {
         return in_xi() / tensor({0, 0, 0});
       }},
      {"ops.rdiv_scalar", [] { return 1 / in_pos(); }},
      {"ops.neg", [] { return -in_x(); }},
      {"ops.neg_int", [] { return in_xi().neg(); }},
      {"ops.pow_scalar", [] { return in_x().pow(2); }},
      {"ops.pow_half", [] { return in_pos().pow(0.5); }},
      {"ops.pow_tensor", [] { return in_v3().pow(in_v3()); }},
      {"ops.pow_int", [] { return in_xi().pow(2); }},
      {"ops.rpow", [] { return pow(2, in_v3()); }},
      {"ops.sqrt", [] { return in_pos().sqrt(); }},
      {"ops.sqrt_neg", [] { return in_x().sqrt(); }},
      {"ops.sqrt_int", [] { return in_xi().abs().sqrt(); }},
      {"ops.exp", [] { return in_x().exp(); }},
      {"ops.log", [] { return in_pos().log(); }},
      {"ops.log_zero_neg",
       [] {
         return tensor({0.0, -1.0}).log();
       }},
      {"ops.log2", [] { return in_pos().log2(); }},
      {"ops.log10", [] { return in_pos().log10(); }},
      {"ops.abs", [] { return in_x().abs(); }},
      {"ops.abs_int", [] { return in_xi().abs(); }},
      {"ops.sin", [] { return in_x().sin(); }},
      {"ops.cos", [] { return in_x().cos(); }},
      {"ops.tanh", [] { return in_x().tanh(); }},
      {"ops.sigmoid", [] { return in_x().sigmoid(); }},
      {"ops.relu", [] { return in_x().relu(); }},
      {"ops.relu_int", [] { return in_xi().relu(); }},
      {"ops.sign", [] { return in_x().sign(); }},
      {"ops.rsqrt", [] { return in_pos().rsqrt(); }},
      {"ops.reciprocal", [] { return in_pos().reciprocal(); }},
      {"ops.expm1", [] { return in_v4().expm1(); }},
      {"ops.log1p", [] { return in_pos().log1p(); }},
      {"ops.tan", [] { return in_v4().tan(); }},
      {"ops.erf", [] { return in_x().erf(); }},
      {"ops.floor", [] { return in_x().floor(); }},
      {"ops.ceil", [] { return in_x().ceil(); }},
      {"ops.round_half_even",
       [] {
         return tensor({0.5, 1.5, 2.5, -0.5, -1.5, 2.4}).round();
       }},
      {"ops.trunc", [] { return in_x().trunc(); }},
      {"ops.square", [] { return in_x().square(); }},
      {"ops.square_int", [] { return in_xi().square(); }},
      {"ops.maximum", [] { return maximum(in_x(), in_x3()[0] - 5); }},
      {"ops.minimum_mixed",
       [] {
         return minimum(in_xi(), tensor({0.5, 1.5, 2.5}));
       }},
      {"ops.clamp", [] { return in_x().clamp(-1, 2); }},
      {"ops.clamp_min", [] { return in_x().clamp(0.5); }},
      {"ops.clamp_int_float", [] { return in_xi().clamp(0.5, 3.5); }},
      {"ops.where", [] { return where(in_x() > 0, in_x(), -in_x()); }},
      {"ops.where_scalar", [] { return where(in_xb(), 1.5, in_xi().index({Slice(None, 2)})); }},
      {"ops.logical_not", [] { return in_xb().logical_not(); }},
      {"ops.logical_not_float", [] { return in_x().logical_not(); }},
      {"ops.logical_and",
       [] {
         return in_xb().logical_and(tensor({true, true, false}));
       }},
      {"ops.logical_or_int", [] { return in_xi().index({Slice(None, 2)}).logical_or(in_xb()); }},
      {"ops.eq",
       [] {
         return in_x() == tensor({1.5, 4.0, 2.0, 4.0});
       }},
      {"ops.ne_scalar", [] { return in_xi() != 1; }},
      {"ops.lt", [] { return in_x() < in_x3()[0] / 3; }},
      {"ops.le_scalar", [] { return in_x() <= 2.5; }},
      {"ops.gt_mixed", [] { return in_xi() > tensor({2.5}); }},
      {"ops.ge_bool",
       [] {
         return in_xb() >= tensor({true, true, false});
       }},
      {"ops.lt_nan",
       [] {
         return tensor({kNan, 1.0}) < 2.0;
       }},
      {"ops.ne_nan",
       [] {
         return tensor({kNan, 1.0}) != tensor({kNan, 1.0});
       }},
      {"ops.noncontiguous_add", [] { return in_x().t() + in_x().t()[0]; }},
      {"ops.add_inplace", [] { return inplace(in_x(), [](auto& t) { t.add_(in_v4()); }); }},
      {"ops.sub_inplace_scalar", [] { return inplace(in_xi(), [](auto& t) { t.sub_(3); }); }},
      {"ops.mul_inplace_bcast", [] { return inplace(in_x3(), [](auto& t) { t.mul_(in_v4()); }); }},
      {"ops.div_inplace", [] { return inplace(in_x(), [](auto& t) { t.div_(4); }); }},
      {"ops.neg_inplace", [] { return inplace(in_xi(), [](auto& t) { t.neg_(); }); }},
      {"ops.pow_inplace", [] { return inplace(in_pos(), [](auto& t) { t.pow_(2); }); }},
      {"ops.pow_inplace_tensor", [] { return inplace(in_v3(), [](auto& t) { t.pow_(in_v3()); }); }},
      {"ops.zero_inplace", [] { return inplace(in_x(), [](auto& t) { t.zero_(); }); }},
      {"ops.fill_inplace", [] { return inplace(in_xi(), [](auto& t) { t.fill_(2.7); }); }},
      {"ops.fill_inplace_bool", [] { return inplace(in_xb(), [](auto& t) { t.fill_(2); }); }},
      {"ops.copy_inplace_cast",
       [] { return inplace(in_xi(), [](auto& t) {
              t.copy_(tensor({1.9, -2.9, 3.5}));
            }); }},
      {"ops.copy_into_transpose",
       [] { return inplace(in_xi(), [](auto& t) { t.t().copy_(in_xi()); }); }},
      {"ops.iadd_int_bool",
       [] { return inplace(in_xi(), [](auto& t) {
              t.add_(tensor({true, false, true}));
            }); }},
      {"ops.imul_float16",
       [] { return inplace(in_x().to(float16), [](auto& t) { t.mul_(1.1); }); }},
      {"ops.uint8_wrap",
       [] {
         return tensor({250, 5}, uint8) + 10;
       }},
      {"ops.uint8_sub_wrap",
       [] {
         return tensor({1, 5}, uint8) - 3;
       }},
      {"ops.int8_mul_wrap",
       [] {
         return tensor({100, -100}, int8) * 2;
       }},
      {"ops.float16_add", [] { return in_x().to(float16) + 0.1; }},
      {"ops.bfloat16_mul", [] { return in_x().to(bfloat16) * 1.1; }},
      {"ops.bfloat16_sqrt", [] { return in_pos().to(bfloat16).sqrt(); }},
      {"ops.float64_exp", [] { return in_x().to(float64).exp(); }},
      {"ops.bool_add", [] { return in_xb() + in_xb(); }},
      {"ops.bool_mul_int", [] { return in_xb() * 3; }},
      {"ops.int_div_neg",
       [] {
         return tensor({-7, 7}) / tensor({2, -2});
       }},
  };
}

TEST(Ops, ElementwiseMatchTorch) { check_op_cases("ops.", elementwise_cases()); }

TEST(Ops, FreeFunctionsEqualMethods) {
  const Tensor x = in_x(), p = in_pos();
  EXPECT_TRUE(equal(add(x, x), x.add(x)));
  EXPECT_TRUE(equal(add(x, 2), x.add(2)));
  EXPECT_TRUE(equal(sub(x, 1.5), x.sub(1.5)));
  EXPECT_TRUE(equal(mul(x, x), x * x));
  EXPECT_TRUE(equal(div(x, 4), x / 4));
  EXPECT_TRUE(equal(neg(x), -x));
  EXPECT_TRUE(equal(pow(x, 3), x.pow(3)));
  EXPECT_TRUE(equal(pow(p, p + 1), p.pow(p + 1)));
  EXPECT_TRUE(equal(sqrt(p), p.sqrt()));
  EXPECT_TRUE(equal(exp(x), x.exp()));
  EXPECT_TRUE(equal(log(p), p.log()));
  EXPECT_TRUE(equal(log2(p), p.log2()));
  EXPECT_TRUE(equal(log10(p), p.log10()));
  EXPECT_TRUE(equal(abs(x), x.abs()));
  EXPECT_TRUE(equal(sin(x), x.sin()));
  EXPECT_TRUE(equal(cos(x), x.cos()));
  EXPECT_TRUE(equal(tanh(x), x.tanh()));
  EXPECT_TRUE(equal(sigmoid(x), x.sigmoid()));
  EXPECT_TRUE(equal(relu(x), x.relu()));
  EXPECT_TRUE(equal(eq(x, x), x == x));
  EXPECT_TRUE(equal(ne(x, x), x != x));
  EXPECT_TRUE(equal(lt(x, p), x < p));
  EXPECT_TRUE(equal(le(x, p), x <= p));
  EXPECT_TRUE(equal(gt(x, p), x > p));
  EXPECT_TRUE(equal(ge(x, p), x >= p));
  EXPECT_TRUE(equal(x.eq(2.5), x == 2.5));
  EXPECT_TRUE(equal(x.gt(0), x > 0));
  EXPECT_TRUE(equal(x.lt(0), x < 0));
  EXPECT_TRUE(equal(x.le(0), x <= 0));
  EXPECT_TRUE(equal(x.ge(0), x >= 0));
  EXPECT_TRUE(equal(x.ne(0), x != 0));
  EXPECT_TRUE(equal(!(x > 0), (x > 0).logical_not()));
  EXPECT_TRUE(equal(~(x > 0), x <= 0));
  EXPECT_KILN_ERROR(~x, "bitwise not");
}

TEST(Ops, CompoundAssignmentOperatorsWriteThroughTheHandle) {
  // a = torch.arange(4.); a += 1; a -= torch.tensor([1., 1., 1., 1.]); a *= 3; a /= 2
  Tensor a = arange(4.0);
  const Tensor alias = a;
  a += 1;
  a -= ones({4});
  a *= 3;
  a /= 2;
  EXPECT_EQ(values(alias), (std::vector<double>{0, 1.5, 3, 4.5}));
  // Each in-place op returns the tensor itself.
  Tensor b = zeros({2});
  EXPECT_EQ(b.add_(1).mul_(3).impl(), b.impl());
  EXPECT_EQ(values(b), (std::vector<double>{3, 3}));
}

TEST(Ops, EqualAndAllclose) {
  EXPECT_TRUE(equal(in_x(), in_x()));
  EXPECT_FALSE(equal(in_x(), in_x() + 1e-3));
  EXPECT_FALSE(equal(ones({2}), ones({3})));  // torch.equal: different shapes are not equal
  EXPECT_FALSE(equal(ones({2, 1}), ones({2})));
  EXPECT_TRUE(equal(zeros({0}), zeros({0})));
  EXPECT_TRUE(equal(tensor({1, 2}), tensor({1.0, 2.0})));  // torch.equal compares values
  EXPECT_FALSE(equal(tensor({kNan}), tensor({kNan})));
  // torch.allclose(torch.tensor([1.0, 1e10]), torch.tensor([1.000001, 1.000001e10])) -> True
  EXPECT_TRUE(allclose(tensor({1.0, 1e10}), tensor({1.000001, 1.000001e10})));
  // torch.allclose(torch.tensor([1e-8]), torch.tensor([1e-9])) -> True (atol)
  EXPECT_TRUE(allclose(tensor({1e-8}), tensor({1e-9})));
  EXPECT_FALSE(allclose(tensor({1.0}), tensor({1.001})));
  EXPECT_TRUE(allclose(tensor({1.0}), tensor({1.001}), 1e-2));
  EXPECT_TRUE(allclose(tensor({1.0}), tensor({1.5}), 0, 0.5));
  EXPECT_FALSE(allclose(tensor({kNan}), tensor({kNan})));
  EXPECT_TRUE(allclose(tensor({kInf}), tensor({kInf})));
  EXPECT_FALSE(allclose(tensor({kInf}), tensor({-kInf})));
  // Integers use the same tolerance rule: torch.isclose(torch.tensor([1, 5]), torch.tensor([2, 5]),
  // atol=1)
  EXPECT_EQ(values(isclose(tensor({1, 5}), tensor({2, 7}), 0, 1)), (std::vector<double>{1, 0}));
  EXPECT_EQ(values(isclose(tensor({true}), tensor({false}), 0, 1)), (std::vector<double>{1}));
  // Broadcasting: torch.allclose(torch.ones(2, 3), torch.ones(3)) -> True
  EXPECT_TRUE(allclose(ones({2, 3}), ones({3})));
}

TEST(Ops, BoolAndIntegerEdgeCases) {
  // torch.tensor([5, -5]) // is not in the API; true division of ints gives float32
  EXPECT_EQ((tensor({5, -5}) / 2).dtype(), float32);
  // int64 arithmetic is exact beyond 2^53
  Tensor big = tensor({int64_t{9007199254740993}});
  EXPECT_EQ((big + 1).item<int64_t>(), int64_t{9007199254740994});
  EXPECT_EQ((big * 1).item<int64_t>(), int64_t{9007199254740993});
  // torch.tensor([True, False]) * True -> tensor([True, False])
  EXPECT_EQ((tensor({true, false}) * true).dtype(), boolean);
}

}  // namespace
}  // namespace kiln
