// Training an MLP, kiln against LibTorch's C++ frontend (torch::nn, torch::optim), the same
// model, data, initial weights and loop in both:
//
// - mlp_step: one training step of a 784-256-10 MLP (Linear, ReLU, Linear) on a fixed random
//   batch of 128 (inputs and labels generated once): forward, cross-entropy, backward and an
//   SGD update (lr 0.01, no momentum). Every step updates the parameters, which carry over to
//   the next step, and is realized before the clock stops (kiln: eval of the updated
//   parameters and the loss; LibTorch is eager, and its loss is read with item()).
// - digits: the whole training of a 64-128-10 MLP on data/digits.csv.gz (80/20 split, batch 32,
//   shuffled every epoch, SGD lr 0.1 momentum 0.9, 20 epochs, the epoch's mean loss read at the
//   end of each epoch, as examples/train_digits), from fresh weights at every run. The held-out
//   accuracy of the last kiln and LibTorch runs is checked (>= 95%) and noted.
//
// The initial weights are kiln's (nn::Linear's PyTorch initialisation from a fixed seed),
// copied into the LibTorch modules.
#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <kiln/backends/cpu/cpu_backend.h>
#include <kiln/frontend/realization_cache.h>
#include <kiln/kiln.h>

#include "bench_common.h"

namespace kiln_bench {
namespace {

constexpr int64_t kStepIn = 784, kStepHidden = 256, kClasses = 10, kStepBatch = 128;
constexpr double kStepLr = 0.01;
constexpr uint64_t kSeed = 1;

constexpr int64_t kDigitsIn = 64, kDigitsHidden = 128, kDigitsBatch = 32;
constexpr int kDigitsEpochs = 20;
constexpr double kDigitsLr = 0.1, kDigitsMomentum = 0.9;

kiln::nn::Sequential kiln_mlp(int64_t in, int64_t hidden) {
  // Braces: the layers draw their weights left to right (PyTorch's order).
  return kiln::nn::Sequential{kiln::nn::Linear(in, hidden), kiln::nn::ReLU(),
                              kiln::nn::Linear(hidden, kClasses)};
}

at::Tensor to_torch(const kiln::Tensor& t) {
  std::vector<int64_t> sizes;
  for (int64_t d = 0; d < t.dim(); ++d) sizes.push_back(t.size(d));
  if (t.dtype() == kiln::int64) {
    std::vector<int64_t> values = t.tolist<int64_t>();
    return at::from_blob(values.data(), sizes, at::kLong).clone();
  }
  std::vector<float> values = t.to(kiln::float32).tolist<float>();
  return at::from_blob(values.data(), sizes, at::kFloat).clone();
}

// A LibTorch MLP with the weights of `model` (parameters in the same order: weight, bias, ...).
torch::nn::Sequential torch_mlp_like(const kiln::nn::Sequential& model, int64_t in,
                                     int64_t hidden) {
  torch::nn::Sequential net(torch::nn::Linear(in, hidden), torch::nn::ReLU(),
                            torch::nn::Linear(hidden, kClasses));
  const std::vector<kiln::Tensor> from = model->parameters();
  std::vector<at::Tensor> to = net->parameters();
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < to.size(); ++i) to[i].copy_(to_torch(from[i]));
  return net;
}

// What kiln ran while fn() ran: realizations (graphs handed to the backend, replayed from the
// realization cache or compiled), compiled kernel launches (or evaluated ones) and matmul
// library steps; shown as per-step counters.
struct Work {
  double realizations = 0, kernels = 0, matmuls = 0;
};
template <class Fn>
Work work_of(Fn&& fn) {
  const auto cache0 = kiln::frontend::realization_cache_stats();
  const auto cpu0 = kiln::backends::cpu::cpu_backend_stats();
  fn();
  const auto cache1 = kiln::frontend::realization_cache_stats();
  const auto cpu1 = kiln::backends::cpu::cpu_backend_stats();
  Work w;
  w.realizations = static_cast<double>(cache1.hits + cache1.misses - cache0.hits - cache0.misses);
  w.kernels = static_cast<double>(cpu1.kernels_compiled_run - cpu0.kernels_compiled_run +
                                  cpu1.kernels_evaluated - cpu0.kernels_evaluated);
  w.matmuls = static_cast<double>(cpu1.matmuls_run - cpu0.matmuls_run);
  return w;
}
void set_counters(benchmark::State& state, const Work& w, double steps) {
  state.counters["realize/step"] = w.realizations / steps;
  state.counters["kernels/step"] = w.kernels / steps;
  state.counters["matmuls/step"] = w.matmuls / steps;
}

// ---- one training step, 784-256-10, batch 128 ----

// The fixed batch, generated once (kiln's generator) and shared by both libraries.
struct StepData {
  kiln::Tensor x, y;  // [128, 784] float32 ~ N(0, 1); [128] int64 labels in 0..9
  at::Tensor tx, ty;
};
const StepData& step_data() {
  static const StepData data = [] {
    StepData d;
    kiln::manual_seed(0);
    d.x = kiln::randn({kStepBatch, kStepIn});
    d.y = kiln::randint(0, kClasses, {kStepBatch}, kiln::int64);
    kiln::eval(d.x, d.y);
    d.tx = to_torch(d.x);
    d.ty = to_torch(d.y);
    return d;
  }();
  return data;
}

struct KilnTrainer {
  kiln::nn::Sequential model;
  std::vector<kiln::Tensor> params;
  kiln::optim::SGD optimizer;
  explicit KilnTrainer(kiln::nn::Sequential m, double lr, double momentum = 0)
      : model(std::move(m)), params(model->parameters()), optimizer(params, lr, momentum) {}

  // One step; returns the (unrealized) loss.
  kiln::Tensor step(const kiln::Tensor& x, const kiln::Tensor& y) {
    optimizer.zero_grad();
    kiln::Tensor loss = kiln::nn::cross_entropy(model(x), y);
    loss.backward();
    optimizer.step();
    return loss;
  }
};

struct TorchTrainer {
  torch::nn::Sequential model;
  torch::optim::SGD optimizer;
  TorchTrainer(torch::nn::Sequential m, double lr, double momentum = 0)
      : model(std::move(m)),
        optimizer(model->parameters(), torch::optim::SGDOptions(lr).momentum(momentum)) {}

  at::Tensor step(const at::Tensor& x, const at::Tensor& y) {
    optimizer.zero_grad();
    at::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    optimizer.step();
    return loss;
  }
};

void realize(KilnTrainer& trainer, const kiln::Tensor& loss) {
  std::vector<kiln::Tensor> outputs = trainer.params;
  outputs.push_back(loss);
  kiln::eval(outputs);
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float f : v) m = std::max(m, static_cast<double>(std::abs(f)));
  return m;
}

// Two steps in kiln and in LibTorch from the same weights: the losses and the parameter updates
// must agree (float32 sums in different orders: relative 1e-3 of the largest update).
bool check_step(benchmark::State& state) {
  const StepData& d = step_data();
  kiln::manual_seed(kSeed);
  KilnTrainer k(kiln_mlp(kStepIn, kStepHidden), kStepLr);
  TorchTrainer t(torch_mlp_like(k.model, kStepIn, kStepHidden), kStepLr);
  std::vector<std::vector<float>> before;
  for (const kiln::Tensor& p : k.params) before.push_back(p.tolist<float>());
  for (int i = 0; i < 2; ++i) {
    const kiln::Tensor kloss = k.step(d.x, d.y);
    realize(k, kloss);
    const float tl = t.step(d.tx, d.ty).item<float>();
    const float kl = kloss.item<float>();
    if (!(std::abs(kl - tl) <= 1e-4f * std::max(1.0f, std::abs(tl)))) {
      state.SkipWithError(("mlp step " + std::to_string(i) + ": kiln loss " + std::to_string(kl) +
                           ", LibTorch " + std::to_string(tl))
                              .c_str());
      return false;
    }
  }
  const std::vector<at::Tensor> tparams = t.model->parameters();
  for (size_t i = 0; i < k.params.size(); ++i) {
    const std::vector<float> kp = k.params[i].tolist<float>();
    const at::Tensor tp = tparams[i].detach().contiguous();
    const float* tv = tp.data_ptr<float>();
    std::vector<float> kd(kp.size()), td(kp.size());
    for (size_t j = 0; j < kp.size(); ++j) {
      kd[j] = kp[j] - before[i][j];
      td[j] = tv[j] - before[i][j];
    }
    double err = 0;
    for (size_t j = 0; j < kd.size(); ++j)
      err = std::max(err, static_cast<double>(std::abs(kd[j] - td[j])));
    const double scale = max_abs(td);
    if (scale == 0 || err > 1e-3 * scale + 1e-7) {
      state.SkipWithError(("mlp step: parameter " + std::to_string(i) +
                           " updated differently from LibTorch (max |diff| " + std::to_string(err) +
                           ", max |update| " + std::to_string(scale) + ")")
                              .c_str());
      return false;
    }
  }
  return true;
}

void BM_mlp_step_kiln(benchmark::State& state) {
  if (!check_step(state)) return;
  const StepData& d = step_data();
  kiln::manual_seed(kSeed);
  KilnTrainer k(kiln_mlp(kStepIn, kStepHidden), kStepLr);
  for (int i = 0; i < 3; ++i) realize(k, k.step(d.x, d.y));  // compile, first allocations
  set_counters(state, work_of([&] { realize(k, k.step(d.x, d.y)); }), 1);
  timed_loop(state, "mlp_step.kiln", [&] { realize(k, k.step(d.x, d.y)); });
}

// The same step through kiln::compile: forward, backward and the SGD update traced once into
// one program that updates the parameters in place; later steps replay it.
void BM_mlp_step_kiln_compiled(benchmark::State& state) {
  const StepData& d = step_data();
  kiln::manual_seed(kSeed);
  KilnTrainer eager(kiln_mlp(kStepIn, kStepHidden), kStepLr);
  kiln::manual_seed(kSeed);
  KilnTrainer k(kiln_mlp(kStepIn, kStepHidden), kStepLr);
  auto step = kiln::compile(
      [&](const kiln::Tensor& x, const kiln::Tensor& y) { return k.step(x, y); }, "mlp_step");
  // The compiled steps follow the eager ones (same initial weights).
  for (int i = 0; i < 3; ++i) {
    const float want = eager.step(d.x, d.y).item<float>();
    const float got = step(d.x, d.y).item<float>();
    if (!(std::abs(got - want) <= 1e-5f * std::max(1.0f, std::abs(want)))) {
      state.SkipWithError(("compiled mlp step " + std::to_string(i) + ": loss " +
                           std::to_string(got) + ", eager " + std::to_string(want))
                              .c_str());
      return;
    }
  }
  set_counters(state, work_of([&] { realize(k, step(d.x, d.y)); }), 1);
  timed_loop(state, "mlp_step.kiln_compiled", [&] { realize(k, step(d.x, d.y)); });
}

void BM_mlp_step_torch(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  set_torch_threads(threads);
  const StepData& d = step_data();
  kiln::manual_seed(kSeed);
  TorchTrainer t(torch_mlp_like(kiln_mlp(kStepIn, kStepHidden), kStepIn, kStepHidden), kStepLr);
  for (int i = 0; i < 3; ++i) t.step(d.tx, d.ty).item<float>();
  timed_loop(state, "mlp_step.torch" + std::to_string(threads),
             [&] { benchmark::DoNotOptimize(t.step(d.tx, d.ty).item<float>()); });
}

// ---- digits: 20 epochs ----

struct Digits {
  kiln::Tensor x_train, y_train, x_test, y_test;
  at::Tensor tx_train, ty_train, tx_test, ty_test;
  std::string error;  // non-empty when the file could not be read
};

std::string digits_path() {
  const char* env = std::getenv("KILN_BENCH_DIGITS");
  return env != nullptr && *env != '\0' ? env : KILN_DIGITS_CSV;
}

// Pixels scaled to [0, 1]; an 80/20 split in a fixed random order (as examples/train_digits).
const Digits& digits() {
  static const Digits data = [] {
    Digits d;
    try {
      kiln::manual_seed(0);
      const kiln::Tensor table = kiln::data::read_csv(digits_path());
      const int64_t n = table.size(0);
      const kiln::Tensor order = kiln::randperm(n);
      const kiln::Tensor x = table.index({order, kiln::Slice(0, kDigitsIn)}) / 16.0f;
      const kiln::Tensor y = table.index({order, kDigitsIn}).to(kiln::int64);
      const int64_t n_train = n * 8 / 10;
      d.x_train = x.index({kiln::Slice(0, n_train)}).contiguous();
      d.y_train = y.index({kiln::Slice(0, n_train)}).contiguous();
      d.x_test = x.index({kiln::Slice(n_train, kiln::None)}).contiguous();
      d.y_test = y.index({kiln::Slice(n_train, kiln::None)}).contiguous();
      kiln::eval(d.x_train, d.y_train, d.x_test, d.y_test);
      d.tx_train = to_torch(d.x_train);
      d.ty_train = to_torch(d.y_train);
      d.tx_test = to_torch(d.x_test);
      d.ty_test = to_torch(d.y_test);
    } catch (const std::exception& e) {
      d.error = digits_path() + ": " + e.what();
    }
    return d;
  }();
  return data;
}

// Trains from the weights drawn with `seed`; returns the held-out accuracy.
double train_digits_kiln(uint64_t seed) {
  const Digits& d = digits();
  kiln::manual_seed(seed);
  KilnTrainer k(kiln_mlp(kDigitsIn, kDigitsHidden), kDigitsLr, kDigitsMomentum);
  kiln::data::DataLoader loader(d.x_train, d.y_train, kDigitsBatch, /*shuffle=*/true);
  for (int epoch = 0; epoch < kDigitsEpochs; ++epoch) {
    kiln::Tensor total = kiln::zeros({}, kiln::float32);
    for (const kiln::data::Batch& batch : loader) {
      const kiln::Tensor loss = k.step(batch.inputs, batch.targets);
      total = total + loss.detach() * batch.inputs.size(0);
    }
    benchmark::DoNotOptimize(total.item<float>());
  }
  kiln::NoGradGuard no_grad;
  return k.model(d.x_test).argmax(1).eq(d.y_test).to(kiln::float64).mean().item<double>();
}

double train_digits_torch(uint64_t seed) {
  const Digits& d = digits();
  kiln::manual_seed(seed);
  TorchTrainer t(torch_mlp_like(kiln_mlp(kDigitsIn, kDigitsHidden), kDigitsIn, kDigitsHidden),
                 kDigitsLr, kDigitsMomentum);
  const int64_t n = d.tx_train.size(0);
  for (int epoch = 0; epoch < kDigitsEpochs; ++epoch) {
    at::Tensor total = at::zeros({}, at::kFloat);
    const at::Tensor order = at::randperm(n, at::kLong);
    for (int64_t begin = 0; begin < n; begin += kDigitsBatch) {
      const at::Tensor rows = order.slice(0, begin, std::min(begin + kDigitsBatch, n));
      const at::Tensor x = d.tx_train.index_select(0, rows);
      const at::Tensor y = d.ty_train.index_select(0, rows);
      const at::Tensor loss = t.step(x, y);
      total = total + loss.detach() * x.size(0);
    }
    benchmark::DoNotOptimize(total.item<float>());
  }
  torch::NoGradGuard no_grad;
  return t.model->forward(d.tx_test).argmax(1).eq(d.ty_test).to(at::kDouble).mean().item<double>();
}

bool check_accuracy(benchmark::State& state, const char* who, double accuracy) {
  char text[96];
  std::snprintf(text, sizeof text, "digits: %s test accuracy %.1f%% after %d epochs", who,
                100 * accuracy, kDigitsEpochs);
  if (accuracy < 0.95) {
    state.SkipWithError((std::string(text) + " (expected >= 95%)").c_str());
    return false;
  }
  note(text);
  return true;
}

void BM_digits_kiln(benchmark::State& state) {
  if (!digits().error.empty()) {
    state.SkipWithError(digits().error.c_str());
    return;
  }
  // Compiles every kernel once; the counters are those of the second run.
  train_digits_kiln(kSeed);
  set_counters(state, work_of([&] { train_digits_kiln(kSeed); }),
               static_cast<double>(kDigitsEpochs *
                                   ((digits().x_train.size(0) + kDigitsBatch - 1) / kDigitsBatch)));
  double accuracy = 0;
  timed_loop(state, "digits.kiln", [&] { accuracy = train_digits_kiln(kSeed); });
  check_accuracy(state, "kiln", accuracy);
}

void BM_digits_torch(benchmark::State& state) {
  if (!digits().error.empty()) {
    state.SkipWithError(digits().error.c_str());
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  set_torch_threads(threads);
  at::manual_seed(0);
  double accuracy = 0;
  timed_loop(state, "digits.torch" + std::to_string(threads),
             [&] { accuracy = train_digits_torch(kSeed); });
  check_accuracy(state, ("LibTorch C++ " + std::to_string(threads) + "t").c_str(), accuracy);
}

}  // namespace

void register_mlp_benchmarks() {
  add_benchmark("mlp_step/kiln", BM_mlp_step_kiln)->Iterations(20);
  add_benchmark("mlp_step/kiln_compiled", BM_mlp_step_kiln_compiled)->Iterations(20);
  add_benchmark("mlp_step/torch", BM_mlp_step_torch)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Iterations(20);
  add_benchmark("digits_train/kiln", BM_digits_kiln)->Iterations(3);
  add_benchmark("digits_train/torch", BM_digits_torch)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Iterations(3);
}

}  // namespace kiln_bench
