// kiln::nn layers and functions against PyTorch's values (nn_fixtures.inc): nn::init, dropout
// masks for a seed, softmax / log_softmax, and every loss with its gradient.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "frontend_test_util.h"
#include "nn_fixtures.h"

namespace kiln {
namespace {

using ::testing::ElementsAre;
using testing::fixture_randn;
using testing::matches_fixture;
using testing::values;

// Transcendental kernels round differently from PyTorch's: values agree to float precision.
constexpr double kAtol = 2e-6;
constexpr double kRtol = 2e-5;

// The inputs of make_nn_fixtures.py's loss section, drawn in the same order from seed 10.
struct LossInputs {
  Tensor logits, targets, ignored, class_weight, probs, logits3, targets3, pred, goal;
  Tensor bin_target, pos_weight, elem_weight;
};

LossInputs loss_inputs() {
  LossInputs in;
  manual_seed(10);
  in.logits = fixture_randn({4, 5});
  in.targets = tensor({1, 0, 4, 2});
  in.ignored = tensor({1, -100, 4, 2});
  in.class_weight = tensor({0.5, 1.0, 2.0, 1.5, 0.25});
  in.probs = nn::functional::softmax(fixture_randn({4, 5}), 1);
  in.logits3 = fixture_randn({2, 3, 4});
  in.targets3 = tensor({{0, 2, 1, 1}, {2, 2, 0, 1}});
  in.pred = fixture_randn({3, 4});
  in.goal = fixture_randn({3, 4});
  in.bin_target = tensor({{1., 0., 1., 0.}, {0., 0., 1., 1.}, {1., 1., 0., 0.5}});
  in.pos_weight = tensor({1.0, 2.0, 0.5, 3.0});
  in.elem_weight = tensor({{1.0}, {0.5}, {2.0}});
  return in;
}

// Checks fn(inputs) against fixture NAME and d sum(fn) / d input_i against NAME.grad<i>.
void expect_value_and_grad(const std::string& name,
                           const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                           const std::vector<Tensor>& inputs) {
  std::vector<Tensor> xs;
  for (const Tensor& x : inputs) xs.push_back(x.detach().clone().requires_grad_());
  Tensor out = fn(xs);
  EXPECT_TRUE(matches_fixture(out, name, kAtol, kRtol));
  out.sum().backward();
  for (size_t i = 0; i < xs.size(); ++i)
    EXPECT_TRUE(matches_fixture(xs[i].grad(), name + ".grad" + std::to_string(i), kAtol, kRtol));
}

TEST(NnInit, MatchesPyTorch) {
  manual_seed(3);
  Tensor xu = empty({4, 5});
  nn::init::xavier_uniform_(xu);
  EXPECT_TRUE(matches_fixture(xu, "init.xavier_uniform"));
  Tensor kn = empty({6, 20});
  nn::init::kaiming_normal_(kn, 0.0, "fan_in", "relu");
  EXPECT_TRUE(matches_fixture(kn, "init.kaiming_normal", 1e-7, 1e-6));
  Tensor small = empty({5});
  nn::init::normal_(small, 1.0, 2.0);
  EXPECT_TRUE(matches_fixture(small, "init.normal_small", 1e-7, 1e-6));
  Tensor u = empty({2, 3});
  nn::init::uniform_(u, -2.0, 3.0);
  EXPECT_TRUE(matches_fixture(u, "init.uniform"));
  Tensor c = empty({2});
  nn::init::constant_(c, 0.25);
  EXPECT_THAT(values(c), ElementsAre(0.25, 0.25));
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("tanh"), 5.0 / 3);
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("leaky_relu", 0.0), std::sqrt(2.0));
  EXPECT_KILN_ERROR(nn::init::calculate_gain("swish"), "Unsupported nonlinearity swish");
  EXPECT_KILN_ERROR(nn::init::kaiming_uniform_(empty({3})),
                    "Fan in and fan out can not be computed for tensor with fewer than 2 "
                    "dimensions");
  EXPECT_KILN_ERROR(nn::init::normal_(empty({3}), 0.0, -1.0), "normal expects std >= 0.0");
  EXPECT_KILN_ERROR(nn::init::kaiming_uniform_(empty({2, 2}), 0.0, "fan_avg"),
                    "Mode fan_avg not supported");
  // Initialising a parameter records no history.
  nn::Linear m(2, 2);
  nn::init::zeros_(m.weight());
  EXPECT_TRUE(m.weight().is_leaf());
  EXPECT_THAT(values(m.weight()), ElementsAre(0.0, 0.0, 0.0, 0.0));
}

TEST(NnDropout, MatchesPyTorchForASeed) {
  // PyTorch without MKL draws bernoulli_(1 - p) from the same generator stream.
  manual_seed(5);
  EXPECT_TRUE(matches_fixture(nn::functional::dropout(ones({4, 6}), 0.3), "dropout.p03", 0, 1e-7));
  manual_seed(6);
  nn::Dropout drop(0.5);
  EXPECT_TRUE(matches_fixture(drop(randn({3, 7})), "dropout.p05_randn", 0, 1e-7));
}

TEST(NnDropout, TrainEvalAndEdgeCases) {
  nn::Dropout drop(0.5);
  Tensor x = ones({100});
  drop->eval();
  EXPECT_TRUE(equal(drop(x), x)) << "the identity in eval mode";
  drop->train();
  const std::vector<double> y = values(drop(x));
  int kept = 0;
  for (double v : y) {
    EXPECT_TRUE(v == 0.0 || v == 2.0);
    kept += v != 0.0;
  }
  EXPECT_GT(kept, 20);
  EXPECT_LT(kept, 80);
  EXPECT_TRUE(equal(nn::functional::dropout(x, 0.0), x));
  EXPECT_THAT(values(nn::functional::dropout(tensor({1.0, 2.0}), 1.0)), ElementsAre(0.0, 0.0));
  EXPECT_KILN_ERROR(nn::Dropout(1.5), "dropout probability has to be between 0 and 1, but got 1.5");
  // The gradient flows through the kept elements, scaled.
  Tensor w = ones({8}).requires_grad_();
  manual_seed(1);
  Tensor out = nn::functional::dropout(w, 0.25);
  out.sum().backward();
  EXPECT_EQ(values(w.grad()), values(out.detach()));
}

TEST(NnActivation, LayersComputeTheirFunction) {
  Tensor x = tensor({{-1.0, 0.0, 2.0}});
  EXPECT_THAT(values(nn::ReLU()(x)), ElementsAre(0.0, 0.0, 2.0));
  EXPECT_TRUE(allclose(nn::Sigmoid()(x), x.sigmoid()));
  EXPECT_TRUE(allclose(nn::Tanh()(x), x.tanh()));
  EXPECT_TRUE(allclose(nn::Softmax(1)(x).sum(1), ones({1})));
  EXPECT_TRUE(allclose(nn::LogSoftmax(1)(x).exp().sum(1), ones({1})));
  EXPECT_EQ(nn::Flatten()(ones({2, 3, 4})).sizes(), (Shape{2, 12}));
  EXPECT_EQ(nn::Flatten(0, 1)(ones({2, 3, 4})).sizes(), (Shape{6, 4}));
  EXPECT_KILN_ERROR(nn::functional::softmax(tensor({1, 2}), 0), "not implemented for 'Long'");
}

TEST(NnActivation, SoftmaxMatchesPyTorch) {
  LossInputs in = loss_inputs();
  auto weighted = [&](auto fn, int64_t dim) {
    return [&in, fn, dim](const std::vector<Tensor>& x) { return fn(x[0], dim) * in.class_weight; };
  };
  expect_value_and_grad("softmax.dim1", weighted(nn::functional::softmax, 1), {in.logits});
  expect_value_and_grad("softmax.dim0", weighted(nn::functional::softmax, 0), {in.logits});
  expect_value_and_grad("log_softmax.dim1", weighted(nn::functional::log_softmax, 1), {in.logits});
  // The shift by the maximum keeps huge inputs finite.
  Tensor large = tensor({{1000., 0., -1000.}, {1., 2., 3.}});
  EXPECT_TRUE(matches_fixture(nn::functional::softmax(large, 1), "softmax.large", kAtol, kRtol));
  EXPECT_TRUE(
      matches_fixture(nn::functional::log_softmax(large, 1), "log_softmax.large", kAtol, kRtol));
}

TEST(NnLoss, CrossEntropyMatchesPyTorch) {
  LossInputs in = loss_inputs();
  using Options = nn::CrossEntropyOptions;
  auto ce = [](Tensor target, Options options = {}) {
    return [target, options](const std::vector<Tensor>& x) {
      return nn::cross_entropy(x[0], target, options);
    };
  };
  expect_value_and_grad("ce.mean", ce(in.targets), {in.logits});
  expect_value_and_grad("ce.sum", ce(in.targets, {.reduction = "sum"}), {in.logits});
  expect_value_and_grad("ce.none", ce(in.targets, {.reduction = "none"}), {in.logits});
  expect_value_and_grad("ce.weight", ce(in.targets, {.weight = in.class_weight}), {in.logits});
  expect_value_and_grad("ce.ignore", ce(in.ignored), {in.logits});
  expect_value_and_grad("ce.ignore_none", ce(in.ignored, {.reduction = "none"}), {in.logits});
  expect_value_and_grad("ce.ignore_weight", ce(in.ignored, {.weight = in.class_weight}),
                        {in.logits});
  expect_value_and_grad("ce.smooth", ce(in.targets, {.label_smoothing = 0.1}), {in.logits});
  expect_value_and_grad("ce.smooth_ignore_weight",
                        ce(in.ignored, {.weight = in.class_weight, .label_smoothing = 0.2}),
                        {in.logits});
  expect_value_and_grad("ce.smooth_ignore", ce(in.ignored, {.label_smoothing = 0.2}), {in.logits});
  expect_value_and_grad("ce.probs", ce(in.probs), {in.logits});
  expect_value_and_grad("ce.probs_weight_smooth",
                        ce(in.probs, {.weight = in.class_weight, .label_smoothing = 0.3}),
                        {in.logits});
  expect_value_and_grad("ce.3d", ce(in.targets3), {in.logits3});
  expect_value_and_grad("ce.3d_none", ce(in.targets3, {.reduction = "none"}), {in.logits3});
  expect_value_and_grad("ce.1d", ce(tensor(3)), {in.logits[0]});
}

TEST(NnLoss, NllLossMatchesPyTorch) {
  LossInputs in = loss_inputs();
  expect_value_and_grad("nll.mean",
                        [&](const std::vector<Tensor>& x) {
                          return nn::nll_loss(nn::functional::log_softmax(x[0], 1), in.targets);
                        },
                        {in.logits});
  expect_value_and_grad("nll.raw_sum",
                        [&](const std::vector<Tensor>& x) {
                          return nn::nll_loss(x[0], in.targets, {.reduction = "sum"});
                        },
                        {in.logits});
  EXPECT_TRUE(std::isnan(nn::nll_loss(in.logits, tensor({-100, -100, -100, -100})).item<double>()))
      << "a mean over no targets is NaN";
}

TEST(NnLoss, RegressionAndBinaryLossesMatchPyTorch) {
  LossInputs in = loss_inputs();
  auto two = [](auto fn) { return [fn](const std::vector<Tensor>& x) { return fn(x[0], x[1]); }; };
  expect_value_and_grad("mse.mean", two([](Tensor a, Tensor b) { return nn::mse_loss(a, b); }),
                        {in.pred, in.goal});
  expect_value_and_grad("mse.sum",
                        two([](Tensor a, Tensor b) { return nn::mse_loss(a, b, "sum"); }),
                        {in.pred, in.goal});
  expect_value_and_grad("mse.none",
                        two([](Tensor a, Tensor b) { return nn::mse_loss(a, b, "none"); }),
                        {in.pred, in.goal});
  expect_value_and_grad("l1.mean", two([](Tensor a, Tensor b) { return nn::l1_loss(a, b); }),
                        {in.pred, in.goal});
  expect_value_and_grad("bce_logits.mean",
                        [&](const std::vector<Tensor>& x) {
                          return nn::binary_cross_entropy_with_logits(x[0], in.bin_target);
                        },
                        {in.pred * 10});
  expect_value_and_grad("bce_logits.pos_weight",
                        [&](const std::vector<Tensor>& x) {
                          return nn::binary_cross_entropy_with_logits(
                              x[0], in.bin_target,
                              {.pos_weight = in.pos_weight, .reduction = "sum"});
                        },
                        {in.pred});
  expect_value_and_grad("bce_logits.weight_none",
                        [&](const std::vector<Tensor>& x) {
                          return nn::binary_cross_entropy_with_logits(
                              x[0], in.bin_target, {.weight = in.elem_weight, .reduction = "none"});
                        },
                        {in.pred});
  expect_value_and_grad("bce.mean",
                        [&](const std::vector<Tensor>& x) {
                          return nn::binary_cross_entropy(x[0].sigmoid(), in.bin_target);
                        },
                        {in.pred});
  // Saturated logits stay finite.
  Tensor big = tensor({1000.0, -1000.0});
  EXPECT_TRUE(
      std::isfinite(nn::binary_cross_entropy_with_logits(big, tensor({0.0, 1.0})).item<double>()));
}

TEST(NnLoss, Errors) {
  LossInputs in = loss_inputs();
  EXPECT_KILN_ERROR(nn::mse_loss(in.pred, in.goal, "avg"),
                    "avg is not a valid value for reduction");
  EXPECT_KILN_ERROR(nn::cross_entropy(in.logits, in.targets.to(int32)),
                    "expected scalar type Long but found Int");
  EXPECT_KILN_ERROR(nn::cross_entropy(in.logits, tensor({1, 2})),
                    "Expected input batch_size (4) to match target batch_size (2).");
  EXPECT_KILN_ERROR(nn::cross_entropy(in.logits, tensor({1, 2, 5, 0})),
                    "Target 5 is out of bounds.");
  EXPECT_KILN_ERROR(nn::cross_entropy(in.logits, tensor({1, 2, -1, 0})),
                    "Target -1 is out of bounds.");
  EXPECT_KILN_ERROR(nn::cross_entropy(in.logits, in.targets, {.weight = ones({3})}),
                    "weight tensor should be defined either for all 5 classes or no classes but "
                    "got weight tensor of shape: [3]");
  EXPECT_KILN_ERROR(nn::cross_entropy(in.logits3, tensor({{0, 1, 2}, {0, 0, 0}})),
                    "Expected target size [2, 4], got [2, 3]");
  EXPECT_KILN_ERROR(nn::cross_entropy(in.logits, in.targets, {.label_smoothing = 1.5}),
                    "label_smoothing must be between 0.0 and 1.0. Got: 1.5");
  EXPECT_KILN_ERROR(nn::nll_loss(tensor(3.0), tensor(1)), "Expected 1 or more dimensions (got 0)");
  EXPECT_KILN_ERROR(nn::cross_entropy(in.logits, tensor({1.0, 2.0, 3.0, 0.0})),
                    "expected scalar type Long but found Float");
  EXPECT_KILN_ERROR(nn::binary_cross_entropy_with_logits(in.pred, ones({3})),
                    "Target size ([3]) must be the same as input size ([3, 4])");
  EXPECT_KILN_ERROR(nn::binary_cross_entropy(in.pred.sigmoid(), ones({3})),
                    "Using a target size ([3]) that is different to the input size ([3, 4])");
}

}  // namespace
}  // namespace kiln
