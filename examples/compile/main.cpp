// Eager against compiled training: the same MLP, from the same initial weights, trained on the
// same batches of the UCI digits (data/digits.csv.gz) twice: with eager steps, and with a step
// under kiln::compile (forward, cross-entropy, backward and the SGD update traced once and
// replayed as one optimized program). Prints the time per step of each, the speedup and both
// accuracies; then traces the trained model with jit::trace, saves it as a .kiln file, loads
// it back (no model code needed) and scores the loaded program.
//
//   compile [data.csv.gz] [digits.kiln] [cpu|cuda]
//
// It runs on the device named third, else on cuda when a GPU is present (models built on the
// CPU and moved, as train_digits does).
//
// Inspect the saved program with: kiln-irdump --stats --explain-fusion digits.kiln
#include <kiln/kiln.h>

#include "../common/digits.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

using namespace kiln;

namespace {

using Clock = std::chrono::steady_clock;

nn::Sequential make_model() {
  // Braces: the layers draw their initial weights left to right, as in PyTorch.
  return nn::Sequential{nn::Linear(64, 128), nn::ReLU(), nn::Linear(128, 10)};
}

double accuracy(const Tensor& logits, const Tensor& y) {
  return logits.argmax(1).eq(y).to(float64).mean().item<double>();
}

double accuracy(nn::Sequential& model, const Tensor& x, const Tensor& y) {
  NoGradGuard no_grad;
  return accuracy(model(x), y);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double max_difference(nn::Sequential& a, nn::Sequential& b) {
  double worst = 0;
  const std::vector<Tensor> pa = a.parameters();
  const std::vector<Tensor> pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string data_path = argc > 1 ? argv[1] : KILN_DIGITS_CSV;
  const std::string kiln_path = argc > 2 ? argv[2] : "digits.kiln";
  const Device device = argc > 3 ? Device(argv[3]) : cuda_is_available() ? cuda : cpu;
  const auto digits = kiln_examples::load_digits(data_path);
  const int64_t n_train = digits.n_train, n_test = digits.n_test;
  const Tensor x_train = digits.x_train.to(device), y_train = digits.y_train.to(device);
  const Tensor x_test = digits.x_test.to(device), y_test = digits.y_test.to(device);

  // Two copies of one model: the same seed gives the same initial weights.
  manual_seed(1);
  nn::Sequential eager_model = make_model();
  manual_seed(1);
  nn::Sequential compiled_model = make_model();
  eager_model->to(device);
  compiled_model->to(device);
  optim::SGD eager_sgd(eager_model.parameters(), /*lr=*/0.1, /*momentum=*/0.9);
  optim::SGD compiled_sgd(compiled_model.parameters(), /*lr=*/0.1, /*momentum=*/0.9);
  // Any of the optimizers can step inside a compiled function (Adam's step count is a tensor).
  auto compiled_step = compile(
      [&](const Tensor& x, const Tensor& y) {
        compiled_sgd.zero_grad();
        const Tensor loss = nn::cross_entropy(compiled_model(x), y);
        loss.backward();
        compiled_sgd.step();
        return loss;
      },
      "train_step");

  std::printf("digits: %lld training and %lld test images on %s; MLP 64-128-10, SGD, batch 32\n",
              static_cast<long long>(n_train), static_cast<long long>(n_test),
              device.str().c_str());
  data::DataLoader loader(x_train, y_train, /*batch_size=*/32, /*shuffle=*/true);
  constexpr int kEpochs = 20;
  // The first epoch traces and compiles (both paths generate their kernels then): timings
  // count the epochs after it.
  double eager_seconds = 0, compiled_seconds = 0;
  int64_t timed_steps = 0;
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    double eager_loss = 0, compiled_loss = 0;
    double eager_epoch = 0, compiled_epoch = 0;
    int64_t steps = 0;
    for (const data::Batch& batch : loader) {
      eval(batch.inputs, batch.targets);  // the batch gather is no step's work
      const double rows = static_cast<double>(batch.inputs.size(0));
      auto start = Clock::now();
      eager_sgd.zero_grad();
      const Tensor loss = nn::cross_entropy(eager_model(batch.inputs), batch.targets);
      loss.backward();
      eager_sgd.step();
      eager_loss += loss.item<double>() * rows;  // realizes the whole step
      eager_epoch += seconds_since(start);

      start = Clock::now();
      compiled_loss += compiled_step(batch.inputs, batch.targets).item<double>() * rows;
      compiled_epoch += seconds_since(start);
      ++steps;
    }
    if (epoch > 1) {
      eager_seconds += eager_epoch;
      compiled_seconds += compiled_epoch;
      timed_steps += steps;
    }
    std::printf(
        "epoch %2d  loss eager %.6f  compiled %.6f  step eager %6.1f us  compiled %6.1f us\n",
        epoch, eager_loss / static_cast<double>(n_train),
        compiled_loss / static_cast<double>(n_train),
        1e6 * eager_epoch / static_cast<double>(steps),
        1e6 * compiled_epoch / static_cast<double>(steps));
    std::fflush(stdout);
  }
  const double eager_step = eager_seconds / static_cast<double>(timed_steps);
  const double compiled_step_time = compiled_seconds / static_cast<double>(timed_steps);
  std::printf("per step (epochs 2-%d): eager %.1f us, compiled %.1f us: %.2fx\n", kEpochs,
              1e6 * eager_step, 1e6 * compiled_step_time, eager_step / compiled_step_time);
  std::printf("compiled step: %lld traces, %lld replays\n",
              static_cast<long long>(compiled_step.stats().traces),
              static_cast<long long>(compiled_step.stats().replays));

  const double eager_acc = accuracy(eager_model, x_test, y_test);
  const double compiled_acc = accuracy(compiled_model, x_test, y_test);
  std::printf("test accuracy: eager %.2f%%, compiled %.2f%% (largest parameter difference %.2g)\n",
              100 * eager_acc, 100 * compiled_acc, max_difference(eager_model, compiled_model));

  // The trained model as a program of its own: specialized to the test set's shape.
  compiled_model.eval();
  const jit::CompiledModule traced = jit::trace(compiled_model, {x_test});
  traced.save(kiln_path);
  const jit::CompiledModule loaded = jit::load(kiln_path, device);
  const double traced_acc = accuracy(traced.forward(x_test), y_test);
  const double loaded_acc = accuracy(loaded.forward(x_test), y_test);
  std::printf("jit::trace: %d nodes, input %s; saved to %s (%lld bytes)\n",
              static_cast<int>(traced.graph().size()),
              ir::to_string(ir::TensorType{float32, x_test.sizes()}).c_str(), kiln_path.c_str(),
              static_cast<long long>(std::filesystem::file_size(kiln_path)));
  std::printf("test accuracy: traced %.2f%%, loaded from %s %.2f%%\n", 100 * traced_acc,
              kiln_path.c_str(), 100 * loaded_acc);

  if (eager_acc < 0.95 || compiled_acc != eager_acc || traced_acc != compiled_acc ||
      loaded_acc != compiled_acc) {
    std::printf(
        "FAILED: expected at least 95%% test accuracy, equal for eager, compiled, "
        "traced and loaded\n");
    return 1;
  }
  return 0;
}
