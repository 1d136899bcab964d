// PyTorch's choices of gradient where finite differences cannot decide: ties of max/min
// (which element gets the gradient) and kinks (abs, relu, clamp at 0 and at their bounds).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "frontend_test_util.h"

namespace kiln::gradcheck {
namespace {

std::vector<double> grad_of(const Tensor& x, const Tensor& y, const Tensor& w) {
  if (x.grad().defined()) x.grad().zero_();
  (y * w).sum().backward();
  return x.grad().tolist<double>();
}

TEST(AutogradGradcheckTies, MaxAndMinWithDimGiveTheGradientToTheReturnedIndex) {
  using ::testing::ElementsAre;
  const Tensor x = tensor({{1.0, 3.0, 3.0}, {2.0, 2.0, 0.0}}, float64).requires_grad_();
  const Tensor w = tensor({1.0, 10.0}, float64);
  auto [values, indices] = x.max(1);
  EXPECT_THAT(indices.tolist<int64_t>(), ElementsAre(1, 0));
  EXPECT_THAT(grad_of(x, values, w), ElementsAre(0, 1, 0, 10, 0, 0));
  EXPECT_THAT(grad_of(x, std::get<0>(x.max(1, true)), w.reshape({2, 1})),
              ElementsAre(0, 1, 0, 10, 0, 0));
  const Tensor y = tensor({{1.0, 1.0, 3.0}, {0.0, 2.0, 0.0}}, float64).requires_grad_();
  EXPECT_THAT(grad_of(y, std::get<0>(y.min(1)), w), ElementsAre(1, 0, 0, 10, 0, 0));
  // Along dim 0, with a tie in column 0: the first of the tied elements.
  const Tensor z = tensor({{2.0, 1.0}, {2.0, 5.0}}, float64).requires_grad_();
  EXPECT_THAT(grad_of(z, std::get<0>(z.max(0)), w), ElementsAre(1, 0, 0, 10));
  EXPECT_THAT(grad_of(z, std::get<0>(z.min(0)), w), ElementsAre(1, 10, 0, 0));
}

TEST(AutogradGradcheckTies, MaxAndMinWithDimGiveTheSameValuesWithAndWithoutGrad) {
  // With a gradient to route, max(dim)/min(dim) gather their values at the indices; the values
  // (NaN, the sign of a zero) and indices are those of amax/amin and argmax/argmin.
  const double nan = std::nan("");
  const Tensor x =
      tensor({{1.0, nan, 3.0}, {-0.0, 0.0, -1.0}, {0.0, -0.0, 1.0}, {2.0, 2.0, -2.0}}, float64);
  const Tensor xg = x.detach().requires_grad_();
  auto same_bits = [](const Tensor& a, const Tensor& b) {
    EXPECT_EQ(a.sizes(), b.sizes());
    const std::vector<double> u = a.tolist<double>(), v = b.tolist<double>();
    ASSERT_EQ(u.size(), v.size());
    for (size_t i = 0; i < u.size(); ++i)
      EXPECT_TRUE(std::signbit(u[i]) == std::signbit(v[i]) &&
                  (u[i] == v[i] || (std::isnan(u[i]) && std::isnan(v[i]))))
          << i << ": " << u[i] << " vs " << v[i];
  };
  for (int64_t dim : {0, 1, -1})
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "dim " << dim << " keepdim " << keepdim);
      auto [v, i] = x.max(dim, keepdim);
      auto [vg, ig] = xg.max(dim, keepdim);
      EXPECT_TRUE(vg.requires_grad());
      same_bits(v, vg);
      EXPECT_EQ(i.tolist<int64_t>(), ig.tolist<int64_t>());
      auto [w, j] = x.min(dim, keepdim);
      auto [wg, jg] = xg.min(dim, keepdim);
      same_bits(w, wg);
      EXPECT_EQ(j.tolist<int64_t>(), jg.tolist<int64_t>());
    }
  // Empty rows and 0-d tensors.
  const Tensor empty = zeros({0, 3}, float64).requires_grad_();
  EXPECT_EQ(std::get<0>(empty.max(1)).sizes(), Shape{0});
  EXPECT_EQ(std::get<0>(empty.min(1, true)).sizes(), (Shape{0, 1}));
  const Tensor scalar = tensor(2.5, float64).requires_grad_();
  const Tensor m = std::get<0>(scalar.max(0));
  m.backward();
  EXPECT_EQ(m.item<double>(), 2.5);
  EXPECT_EQ(scalar.grad().item<double>(), 1.0);
}

TEST(AutogradGradcheckTies, FullMaxMinAndAmaxShareTheGradientAmongTies) {
  using ::testing::ElementsAre;
  const Tensor x = tensor({{1.0, 3.0, 3.0}, {2.0, 2.0, 0.0}}, float64).requires_grad_();
  EXPECT_THAT(grad_of(x, x.max(), tensor(1.0, float64)), ElementsAre(0, 0.5, 0.5, 0, 0, 0));
  const Tensor y = tensor({{0.0, 1.0, 3.0}, {0.0, 2.0, 0.0}}, float64).requires_grad_();
  const auto third = ::testing::DoubleEq(1.0 / 3);
  EXPECT_THAT(grad_of(y, y.min(), tensor(1.0, float64)), ElementsAre(third, 0, 0, third, 0, third));
  EXPECT_THAT(grad_of(x, x.amax({1}), tensor({1.0, 10.0}, float64)),
              ElementsAre(0, 0.5, 0.5, 5, 5, 0));
  // maximum/minimum split in half on ties.
  const Tensor a = tensor({1.0, 2.0}, float64).requires_grad_();
  EXPECT_THAT(grad_of(a, maximum(a, tensor({1.0, 0.0}, float64)), tensor({1.0, 1.0}, float64)),
              ElementsAre(0.5, 1));
}

TEST(AutogradGradcheckTies, KinksTakePyTorchsSubgradients) {
  using ::testing::ElementsAre;
  const Tensor x = tensor({0.0, 1.0, -1.0}, float64).requires_grad_();
  const Tensor ones3 = tensor({1.0, 1.0, 1.0}, float64);
  EXPECT_THAT(grad_of(x, x.relu(), ones3), ElementsAre(0, 1, 0));
  EXPECT_THAT(grad_of(x, x.abs(), ones3), ElementsAre(0, 1, -1));
}

TEST(AutogradGradcheckTies, ClampPassesTheGradientAtItsBounds) {
  // PyTorch's clamp_backward passes the gradient where min <= x <= max, bounds included.
  const Tensor x = tensor({-1.0, 0.0, 1.0}, float64).requires_grad_();
  EXPECT_THAT(grad_of(x, x.clamp(-1.0, 1.0), tensor({1.0, 1.0, 1.0}, float64)),
              ::testing::ElementsAre(1, 1, 1));
}

}  // namespace
}  // namespace kiln::gradcheck
