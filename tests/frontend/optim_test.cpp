// kiln::optim: SGD (momentum, dampening, weight decay, Nesterov, maximize), Adam and AdamW
// (weight decay, AMSGrad) against PyTorch's parameters and state after 10 steps of the same
// regression (nn_fixtures.inc), the optimizer state_dict, param groups, errors, and small
// models trained end to end.
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "frontend_test_util.h"
#include "nn_fixtures.h"

namespace kiln {
namespace {

using ::testing::ElementsAre;
using testing::matches_fixture;
using testing::values;

// The tolerance the optimizers must meet against PyTorch after 10 steps (float32).
constexpr double kAtol = 1e-6;
constexpr double kRtol = 1e-6;

// make_nn_fixtures.py's regression: W [3, 4] and b [3] to fit y [8, 3] from x [8, 4].
struct Regression {
  Tensor w, b, x, y;
  Regression() {
    manual_seed(20);
    w = testing::fixture_randn({3, 4}).requires_grad_();
    b = testing::fixture_randn({3}).requires_grad_();
    x = testing::fixture_randn({8, 4});
    y = testing::fixture_randn({8, 3});
  }
  Tensor loss() const { return nn::mse_loss(x.matmul(w.t()) + b, y); }
  // `steps` updates; the losses are read at every step only when `read_losses` (a realization
  // per step, as the fixture's loss.item()), else everything stays lazy until the end.
  std::vector<double> train(optim::Optimizer& opt, int steps, bool read_losses = true) const {
    std::vector<double> losses;
    for (int i = 0; i < steps; ++i) {
      Tensor l = loss();
      if (read_losses) losses.push_back(l.item<double>());
      l.backward();
      opt.step();
      opt.zero_grad();
    }
    return losses;
  }
};

struct Case {
  std::string name;
  std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)> make;
  std::vector<std::string> state_keys;
};

std::vector<Case> cases() {
  using P = std::vector<Tensor>;
  return {
      {"sgd", [](P p) { return std::make_unique<optim::SGD>(p, 0.1); }, {}},
      {"sgd_momentum",
       [](P p) { return std::make_unique<optim::SGD>(p, 0.05, 0.9); },
       {"momentum_buffer"}},
      {"sgd_nesterov",
       [](P p) { return std::make_unique<optim::SGD>(p, 0.05, 0.9, 0.0, 0.0, true); },
       {"momentum_buffer"}},
      {"sgd_dampening_wd",
       [](P p) { return std::make_unique<optim::SGD>(p, 0.05, 0.8, 0.3, 0.01); },
       {"momentum_buffer"}},
      {"sgd_maximize",
       [](P p) { return std::make_unique<optim::SGD>(p, 0.01, 0.5, 0.0, 0.0, false, true); },
       {"momentum_buffer"}},
      {"adam",
       [](P p) { return std::make_unique<optim::Adam>(p, 0.1); },
       {"step", "exp_avg", "exp_avg_sq"}},
      {"adam_wd_amsgrad",
       [](P p) {
         return std::make_unique<optim::Adam>(p, 0.05, std::pair{0.8, 0.99}, 1e-6, 0.1, true);
       },
       {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
      {"adamw",
       [](P p) { return std::make_unique<optim::AdamW>(p, 0.1); },
       {"step", "exp_avg", "exp_avg_sq"}},
      {"adamw_amsgrad",
       [](P p) {
         return std::make_unique<optim::AdamW>(p, 0.05, std::pair{0.9, 0.999}, 1e-8, 0.5, true);
       },
       {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
  };
}

TEST(Optim, TenStepsMatchPyTorch) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Regression r;
    auto opt = c.make({r.w, r.b});
    const std::vector<double> losses = r.train(*opt, 10);
    const std::string prefix = "optim." + c.name + ".";
    EXPECT_TRUE(matches_fixture(tensor(losses, float64), prefix + "losses", kAtol, kRtol));
    EXPECT_TRUE(matches_fixture(r.w, prefix + "w", kAtol, kRtol));
    EXPECT_TRUE(matches_fixture(r.b, prefix + "b", kAtol, kRtol));
    const StateDict sd = opt->state_dict();
    for (const std::string& key : c.state_keys)
      EXPECT_TRUE(matches_fixture(sd.at("state.0." + key), prefix + "state." + key, kAtol, kRtol));
    // The updates wrote into the parameters: still the same leaves that require grad.
    EXPECT_TRUE(r.w.is_leaf());
    EXPECT_TRUE(r.w.requires_grad());
  }
}

TEST(Optim, LazyStepsGiveTheSameParameters) {
  // Without a realization per step, the backward passes and the updates of all steps are
  // realized together: the values must not change.
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Regression eager;
    auto opt1 = c.make({eager.w, eager.b});
    eager.train(*opt1, 5);
    Regression lazy;
    auto opt2 = c.make({lazy.w, lazy.b});
    lazy.train(*opt2, 5, /*read_losses=*/false);
    EXPECT_TRUE(allclose(lazy.w, eager.w, 1e-6, 1e-7));
    EXPECT_TRUE(allclose(lazy.b, eager.b, 1e-6, 1e-7));
  }
}

TEST(Optim, StateDictKeysLikePyTorch) {
  Regression r;
  optim::SGD sgd({r.w, r.b}, 0.1, 0.9);
  r.train(sgd, 1);
  std::vector<std::string> keys;
  for (const auto& [k, v] : sgd.state_dict()) keys.push_back(k);
  EXPECT_THAT(keys,
              ElementsAre("state.0.momentum_buffer", "state.1.momentum_buffer", "param_groups.0.lr",
                          "param_groups.0.momentum", "param_groups.0.dampening",
                          "param_groups.0.weight_decay", "param_groups.0.nesterov",
                          "param_groups.0.maximize", "param_groups.0.params"));
  const StateDict sd = sgd.state_dict();
  EXPECT_DOUBLE_EQ(sd.at("param_groups.0.lr").item<double>(), 0.1);
  EXPECT_THAT(sd.at("param_groups.0.params").tolist<int64_t>(), ElementsAre(0, 1));
  optim::Adam adam({r.w, r.b}, 0.01, {0.8, 0.9});
  r.train(adam, 2);
  const StateDict sa = adam.state_dict();
  EXPECT_EQ(sa.at("state.1.step").dtype(), float32);
  EXPECT_EQ(sa.at("state.1.step").item<double>(), 2.0);
  EXPECT_THAT(values(sa.at("param_groups.0.betas")), ElementsAre(0.8, 0.9));
  EXPECT_TRUE(sa.contains("state.1.exp_avg_sq"));
  // The state dict holds copies: stepping on does not change it.
  const std::vector<double> saved = values(sa.at("state.0.exp_avg"));
  r.train(adam, 1);
  EXPECT_EQ(values(sa.at("state.0.exp_avg")), saved);
}

TEST(Optim, LoadStateDictResumesExactly) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Regression straight;
    auto opt = c.make({straight.w, straight.b});
    straight.train(*opt, 8);

    Regression first;
    auto opt1 = c.make({first.w, first.b});
    first.train(*opt1, 4);
    const StateDict saved = opt1->state_dict();
    // A new optimizer (other hyperparameters, which the state dict restores) over parameters
    // holding the same values.
    Regression resumed;
    {
      NoGradGuard no_grad;
      resumed.w.copy_(first.w);
      resumed.b.copy_(first.b);
    }
    optim::SGD other({resumed.w, resumed.b}, 123.0);
    auto opt2 = c.make({resumed.w, resumed.b});
    opt2->param_groups()[0]["lr"] = 123.0;
    opt2->load_state_dict(saved);
    EXPECT_NE(opt2->param_groups()[0].get("lr"), 123.0);
    resumed.train(*opt2, 4);
    EXPECT_TRUE(equal(resumed.w, straight.w));
    EXPECT_TRUE(equal(resumed.b, straight.b));
  }
}

TEST(Optim, LoadStateDictErrors) {
  Regression r;
  optim::SGD sgd({r.w, r.b}, 0.1, 0.9);
  r.train(sgd, 1);
  optim::SGD one({r.w}, 0.1, 0.9);
  EXPECT_KILN_ERROR(one.load_state_dict(sgd.state_dict()),
                    "loaded state dict contains a parameter group that doesn't match the size of "
                    "optimizer's group");
  optim::SGD two(std::vector<optim::ParamGroup>{{{r.w}}, {{r.b}}}, 0.1);
  EXPECT_KILN_ERROR(two.load_state_dict(sgd.state_dict()),
                    "loaded state dict has a different number of parameter groups");
  StateDict bad = sgd.state_dict();
  bad["momentum"] = ones({1});
  EXPECT_KILN_ERROR(sgd.load_state_dict(bad), "unexpected key 'momentum'");
}

TEST(Optim, ParamGroupsAndOptions) {
  Regression r;
  optim::SGD sgd(std::vector<optim::ParamGroup>{{{r.w}, {{"lr", 0.5}}}, {{r.b}}}, 0.1, 0.9);
  ASSERT_EQ(sgd.param_groups().size(), 2u);
  EXPECT_EQ(sgd.param_groups()[0].get("lr"), 0.5);
  EXPECT_EQ(sgd.param_groups()[0].get("momentum"), 0.9) << "missing options take the defaults";
  EXPECT_EQ(sgd.param_groups()[1].get("lr"), 0.1);
  // Per-group learning rates: a group with lr 0 does not move.
  sgd.param_groups()[1]["lr"] = 0.0;
  const std::vector<double> b_before = values(r.b);
  const std::vector<double> w_before = values(r.w);
  r.train(sgd, 2);
  EXPECT_EQ(values(r.b), b_before);
  EXPECT_NE(values(r.w), w_before);
  // Parameters without a gradient are skipped.
  Tensor unused = zeros({2}).requires_grad_();
  sgd.add_param_group({{unused}});
  r.train(sgd, 1);
  EXPECT_THAT(values(unused), ElementsAre(0.0, 0.0));
  EXPECT_EQ(sgd.state_dict().at("param_groups.2.params").tolist<int64_t>()[0], 2);
  EXPECT_KILN_ERROR(sgd.add_param_group({{r.w}}),
                    "some parameters appear in more than one parameter group");
  // step(closure) evaluates the loss, then updates.
  optim::Adam adam({r.w, r.b}, 0.01);
  Tensor loss = adam.step([&] {
    adam.zero_grad();
    Tensor l = r.loss();
    l.backward();
    return l;
  });
  EXPECT_TRUE(loss.defined());
  EXPECT_EQ(adam.state_dict().at("state.0.step").item<double>(), 1.0);
}

TEST(Optim, ConstructorErrors) {
  Tensor p = zeros({2}).requires_grad_();
  EXPECT_KILN_ERROR(optim::SGD({p}, -1.0), "Invalid learning rate: -1.0");
  EXPECT_KILN_ERROR(optim::SGD({p}, 0.1, -0.5), "Invalid momentum value: -0.5");
  EXPECT_KILN_ERROR(optim::SGD({p}, 0.1, 0.0, 0.0, -1.0), "Invalid weight_decay value: -1.0");
  EXPECT_KILN_ERROR(optim::SGD({p}, 0.1, 0.0, 0.0, 0.0, true),
                    "Nesterov momentum requires a momentum and zero dampening");
  EXPECT_KILN_ERROR(optim::SGD(std::vector<Tensor>{}, 0.1),
                    "optimizer got an empty parameter list");
  EXPECT_KILN_ERROR(optim::SGD({p * 2}, 0.1), "can't optimize a non-leaf Tensor");
  EXPECT_KILN_ERROR(optim::SGD({p, p}, 0.1),
                    "some parameters appear in more than one parameter group");
  EXPECT_KILN_ERROR(optim::Adam({p}, -1.0), "Invalid learning rate: -1.0");
  EXPECT_KILN_ERROR(optim::Adam({p}, 0.1, {0.9, 0.999}, -1.0), "Invalid epsilon value: -1.0");
  EXPECT_KILN_ERROR(optim::Adam({p}, 0.1, {1.0, 0.999}), "Invalid beta parameter at index 0: 1.0");
  EXPECT_KILN_ERROR(optim::Adam({p}, 0.1, {0.9, 1.0}), "Invalid beta parameter at index 1: 1.0");
  EXPECT_KILN_ERROR(optim::AdamW({p}, 0.1, {0.9, 0.999}, 1e-8, -0.1),
                    "Invalid weight_decay value: -0.1");
  optim::AdamW adamw({p});
  EXPECT_EQ(adamw.param_groups()[0].get("weight_decay"), 1e-2) << "AdamW's default decay";
  EXPECT_EQ(adamw.param_groups()[0].get("lr"), 1e-3);
}

TEST(Optim, ZeroGradSetToNone) {
  Regression r;
  optim::SGD sgd({r.w, r.b}, 0.1);
  r.loss().backward();
  sgd.zero_grad();
  EXPECT_THAT(values(r.b.grad()), ElementsAre(0.0, 0.0, 0.0));
  sgd.zero_grad(/*set_to_none=*/true);
  EXPECT_FALSE(r.b.grad().defined());
}

// ---- end to end ----

TEST(OptimTraining, MlpLearnsXor) {
  manual_seed(0);
  nn::Sequential model{nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 1)};
  optim::Adam opt(model.parameters(), 0.05);
  Tensor x = tensor({{0.f, 0.f}, {0.f, 1.f}, {1.f, 0.f}, {1.f, 1.f}});
  Tensor y = tensor({{0.f}, {1.f}, {1.f}, {0.f}});
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    Tensor loss = nn::binary_cross_entropy_with_logits(model(x), y);
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item<double>();
    if (step == 299) last = loss.item<double>();
  }
  EXPECT_GT(first, 0.5);
  EXPECT_LT(last, 0.05);
  model.eval();
  NoGradGuard no_grad;
  EXPECT_THAT(values(model(x).gt(0.0).to(float32)), ElementsAre(0.0, 1.0, 1.0, 0.0));
}

TEST(OptimTraining, LinearRegressionWithSgdAndCrossEntropyClassifier) {
  manual_seed(3);
  Tensor x = randn({64, 3});
  Tensor true_w = tensor({{2.0f, -1.0f, 0.5f}});
  Tensor y = x.matmul(true_w.t()) + 0.3f;
  nn::Linear model(3, 1);
  optim::SGD opt(model.parameters(), 0.1, 0.9);
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    Tensor loss = nn::mse_loss(model(x), y);
    loss.backward();
    opt.step();
  }
  EXPECT_LT(nn::mse_loss(model(x), y).item<double>(), 1e-4);
  EXPECT_TRUE(allclose(model.weight(), true_w, 1e-2, 1e-2));
  EXPECT_NEAR(model.bias().item<double>(), 0.3, 1e-2);

  // Three separable clusters, classified with cross entropy and AdamW.
  Tensor centers = tensor({{3.0f, 0.0f}, {-3.0f, 0.0f}, {0.0f, 3.0f}});
  std::vector<int64_t> label_values;
  for (int64_t i = 0; i < 60; ++i) label_values.push_back(i % 3);
  Tensor labels = tensor(label_values);
  Tensor points = centers.index({labels}) + randn({60, 2}) * 0.5f;
  nn::Sequential clf{nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 3)};
  optim::AdamW adamw(clf.parameters(), 0.05);
  for (int step = 0; step < 60; ++step) {
    adamw.zero_grad();
    nn::cross_entropy(clf(points), labels).backward();
    adamw.step();
  }
  EXPECT_LT(nn::cross_entropy(clf(points), labels).item<double>(), 0.1);
  auto [best, predicted] = clf(points).max(1);
  EXPECT_TRUE(equal(predicted, labels));
}

}  // namespace
}  // namespace kiln
