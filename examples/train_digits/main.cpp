// Trains a small MLP on the UCI handwritten digits (data/digits.csv.gz: 1,797 8x8 images,
// pixel values 0..16, labels 0..9), then saves it, reloads it into a fresh model and checks
// that the reloaded model scores the same.
//
//   train_digits [data.csv.gz] [model.safetensors] [cpu|cuda]
//
// It trains on the device named third, else on cuda when a GPU is present, as PyTorch's
// tutorials choose (`"cuda" if torch.cuda.is_available() else "cpu"`). The model is built on the
// CPU and moved (model.to(device)), so its initial weights are the same on every device.
//
// The whole training step (forward, cross-entropy, backward, SGD update) is lazy IR that kiln
// fuses; after the first step the realization cache replays it without compiling.
#include <kiln/kiln.h>

#include "../common/digits.h"

#include <chrono>
#include <cstdio>
#include <string>

using namespace kiln;

namespace {

nn::Sequential make_model() {
  // Braces: the layers are built (and draw their initial weights) left to right, as in PyTorch.
  return nn::Sequential{nn::Linear(64, 128), nn::ReLU(), nn::Linear(128, 10)};
}

// Fraction of rows whose highest logit is the label.
double accuracy(nn::Sequential& model, const Tensor& x, const Tensor& y) {
  NoGradGuard no_grad;
  const Tensor predicted = model(x).argmax(1);
  return predicted.eq(y).to(float64).mean().item<double>();
}

void progress(int epoch, int epochs, double loss, double train_acc, double seconds) {
  constexpr int kWidth = 30;
  const int filled = (epoch * kWidth) / epochs;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::printf("epoch %2d/%d [%s] loss %.4f  train acc %5.1f%%  %.2fs\n", epoch, epochs, bar.c_str(),
              loss, 100 * train_acc, seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string data_path = argc > 1 ? argv[1] : KILN_DIGITS_CSV;
  const std::string model_path = argc > 2 ? argv[2] : "digits_mlp.safetensors";
  const Device device = argc > 3 ? Device(argv[3]) : cuda_is_available() ? cuda : cpu;
  const auto digits = kiln_examples::load_digits(data_path);
  const int64_t n_train = digits.n_train, n_test = digits.n_test;
  const Tensor x_train = digits.x_train.to(device), y_train = digits.y_train.to(device);
  const Tensor x_test = digits.x_test.to(device), y_test = digits.y_test.to(device);
  std::printf("digits: %lld training and %lld test images, on %s\n",
              static_cast<long long>(n_train), static_cast<long long>(n_test),
              device.str().c_str());

  nn::Sequential model = make_model();
  model->to(device);
  optim::SGD optimizer(model.parameters(), /*lr=*/0.1, /*momentum=*/0.9);
  data::DataLoader loader(x_train, y_train, /*batch_size=*/32, /*shuffle=*/true);
  constexpr int kEpochs = 20;
  const auto start = std::chrono::steady_clock::now();
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    Tensor total = zeros({}, float32);
    for (const data::Batch& batch : loader) {
      optimizer.zero_grad();
      const Tensor loss = nn::cross_entropy(model(batch.inputs), batch.targets);
      loss.backward();
      optimizer.step();
      total = total + loss.detach() * batch.inputs.size(0);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress(epoch, kEpochs, total.item<double>() / static_cast<double>(n_train),
             accuracy(model, x_train, y_train), seconds);
  }
  const double test_acc = accuracy(model, x_test, y_test);
  std::printf("test accuracy: %.2f%%\n", 100 * test_acc);

  save(model.state_dict(), model_path);
  nn::Sequential reloaded = make_model();
  reloaded->to(device);
  reloaded.load_state_dict(load(model_path, device));
  const double reloaded_acc = accuracy(reloaded, x_test, y_test);
  std::printf("saved to %s; reloaded model's test accuracy: %.2f%%\n", model_path.c_str(),
              100 * reloaded_acc);
  if (test_acc < 0.97 || reloaded_acc != test_acc) {
    std::printf("FAILED: expected at least 97%% test accuracy, equal after reloading\n");
    return 1;
  }
  return 0;
}
