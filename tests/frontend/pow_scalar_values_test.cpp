// x.pow(c) for the exponents PyTorch computes without pow (passes/pow_scalar.h) gives PyTorch's
// arithmetic bit for bit, and so does its gradient, `grad * (c * x.pow(c - 1))`. The expected
// values are that arithmetic in float on the host (IEEE multiply, divide and sqrt round once,
// and none of these expressions can contract into an FMA). torch 1.13 agrees with them for
// every element (checked when the pass was written: x.pow(3) == x*x*x for 10^6 floats, while
// only 74% equal the correctly rounded cube).
#include <cmath>
#include <functional>
#include <vector>

#include "frontend_test_util.h"

namespace kiln {
namespace {

using testing::same_values;

// 4,001 floats in [-2, 2] and a few special values.
std::vector<float> inputs() {
  std::vector<float> xs;
  for (int i = 0; i <= 4000; ++i) xs.push_back(-2.0f + static_cast<float>(i) / 1000.0f * 1.0007f);
  for (float s : {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-30f, 3e38f}) xs.push_back(s);
  return xs;
}

std::vector<double> host(const std::vector<float>& xs, const std::function<float(float)>& f) {
  std::vector<double> out;
  for (float x : xs) out.push_back(static_cast<double>(f(x)));
  return out;
}

float rsqrt(float x) { return 1.0f / std::sqrt(x); }

TEST(PowScalarValues, ForwardIsPyTorchsArithmetic) {
  const std::vector<float> xs = inputs();
  const Tensor x = tensor(xs);
  struct Case {
    double exponent;
    std::function<float(float)> want;
  };
  const Case cases[] = {
      {2.0, [](float v) { return v * v; }},        {3.0, [](float v) { return v * v * v; }},
      {-1.0, [](float v) { return 1.0f / v; }},    {-2.0, [](float v) { return 1.0f / (v * v); }},
      {0.5, [](float v) { return std::sqrt(v); }}, {-0.5, [](float v) { return rsqrt(v); }},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(same_values(x.pow(c.exponent).tolist<double>(), host(xs, c.want)))
        << "x.pow(" << c.exponent << ")";
  }
  // pow(-inf, 0.5) is +inf in C but NaN in PyTorch (sqrt), and pow(-0.0, -0.5) is -inf there;
  // pow(-nan, 1) keeps the sign (a copy), where glibc's pow gives +nan.
  EXPECT_TRUE(std::signbit(tensor({-NAN}).pow(1).item<float>()));
  EXPECT_TRUE(std::isnan(tensor({-INFINITY}).pow(0.5).item<float>()));
  EXPECT_EQ(tensor({-0.0f}).pow(-0.5).item<float>(), -INFINITY);
}

TEST(PowScalarValues, GradientIsPyTorchsFormula) {
  std::vector<float> xs;
  for (int i = 1; i <= 2000; ++i) xs.push_back(static_cast<float>(i) / 997.0f);
  std::vector<float> gs;
  for (int i = 0; i < 2000; ++i) gs.push_back(1.0f + static_cast<float>(i % 17) / 7.0f);
  const Tensor g = tensor(gs);
  struct Case {
    double exponent;
    std::function<float(float)> slope;  // c * x.pow(c - 1), in PyTorch's order
  };
  const Case cases[] = {
      {3.0, [](float v) { return 3.0f * (v * v); }},
      {2.0, [](float v) { return 2.0f * v; }},  // pow(x, 1) is x itself
      {-1.0, [](float v) { return -1.0f * (1.0f / (v * v)); }},
      {0.5, [](float v) { return 0.5f * rsqrt(v); }},
  };
  for (const Case& c : cases) {
    Tensor x = tensor(xs).requires_grad_();
    x.pow(c.exponent).backward(g);
    std::vector<double> want;
    for (size_t i = 0; i < xs.size(); ++i) want.push_back(gs[i] * c.slope(xs[i]));
    EXPECT_TRUE(same_values(x.grad().tolist<double>(), want)) << "d/dx x.pow(" << c.exponent << ")";
  }
}

// Other scalar exponents: PyTorch's pow_backward computes c - 1 in double, then pow and the
// products in float. For c = 1.7, float(1.7) - 1 is 0.70000005 while float(1.7 - 1) is 0.7,
// which changes 37% of these gradients (checked against torch 1.13).
TEST(PowScalarValues, GradientExponentIsComputedInDouble) {
  std::vector<float> xs;
  for (int i = 1; i <= 2000; ++i) xs.push_back(static_cast<float>(i) / 997.0f);
  Tensor x = tensor(xs).requires_grad_();
  x.pow(1.7).backward(ones({2000}));
  const Tensor plain = tensor(xs);
  EXPECT_TRUE(same_values(x.grad().tolist<double>(), (1.7 * plain.pow(0.7)).tolist<double>()));
}

// A zero exponent has a zero gradient everywhere, 0^0 included (PyTorch).
TEST(PowScalarValues, ZeroExponentHasZeroGradient) {
  Tensor x = tensor({0.0f, 2.0f, -3.0f}).requires_grad_();
  x.pow(0).backward(ones({3}));
  EXPECT_EQ(x.grad().tolist<float>(), (std::vector<float>{0, 0, 0}));
}

}  // namespace
}  // namespace kiln
