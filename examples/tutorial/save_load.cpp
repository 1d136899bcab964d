// Tutorial, chapter "save_load": saving a model's weights and loading them back.
//
// A module's learned state is its state dict: a StateDict mapping dotted names ("fc1.weight")
// to its parameters and persistent buffers, in registration order. save(state_dict, path)
// writes one to a safetensors file; load(path) reads one back (from safetensors, or from a
// file PyTorch's torch.save wrote: the format is told by content), and load_state_dict copies
// the values into a model built by your code. PyTorch can also pickle a whole model with
// torch.save(model); a kiln file holds tensors only, so the model's structure is its C++ class
// and you construct the model before loading its weights, as PyTorch recommends anyway.
#include <kiln/kiln.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

using namespace kiln;

namespace {

// A model of our own: a Module whose layers are registered submodules. The name given to
// register_module prefixes the keys of the layer's tensors ("fc1.weight"), as an attribute's
// name does in PyTorch. Members initialise in declaration order, so fc1 draws its random
// weights before fc2, in the order of the Python twin's __init__.
struct Net : nn::Module {
  nn::Linear fc1 = register_module("fc1", nn::Linear(4, 8));
  nn::ReLU relu = register_module("relu", nn::ReLU());  // no parameters, so no keys
  nn::Linear fc2 = register_module("fc2", nn::Linear(8, 3));

  Tensor forward(const Tensor& x) override { return fc2(relu(fc1(x))); }
};

const char* py(bool b) { return b ? "True" : "False"; }

// Names the way Python prints a list of strings: ['a', 'b'].
std::string py(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", '" : "'") + names[i] + "'";
  return out + "]";
}

// The same names, in the same order, with equal tensors.
bool same_weights(const StateDict& a, const StateDict& b) {
  if (a.keys() != b.keys()) return false;
  for (const auto& [name, t] : a)
    if (!equal(t, b.at(name))) return false;
  return true;
}

// The entries of `state_dict` whose names start with `prefix`, with the prefix removed.
StateDict under(const StateDict& state_dict, const std::string& prefix) {
  StateDict out;
  for (const auto& [name, t] : state_dict)
    if (name.starts_with(prefix)) out.insert(name.substr(prefix.size()), t);
  return out;
}

void train_step(nn::Module& model, optim::Optimizer& optimizer, const Tensor& x,
                const Tensor& target, int64_t epoch) {
  optimizer.zero_grad();
  const Tensor loss = nn::mse_loss(model(x), target);
  loss.backward();
  std::printf("epoch %lld: loss %.4f\n", static_cast<long long>(epoch), loss.item<double>());
  optimizer.step();
}

}  // namespace

int main() {
  // A file of this run's own in the temporary directory, removed at the end.
  const std::string path =
      "/tmp/kiln_tutorial_save_load_" + std::to_string(getpid()) + ".safetensors";
  const Tensor x = tensor({{1.0f, 2.0f, 3.0f, 4.0f}, {-1.0f, 0.5f, 0.0f, 2.0f}});
  const Tensor target = tensor({{0.5f, -1.0f, 2.0f}, {1.0f, 0.0f, -0.5f}});
  manual_seed(0);  // the layers draw PyTorch's initial weights

  std::cout << "== a model and its state dict ==\n";
  Net model;
  std::cout << model << '\n';
  for (const auto& [name, t] : model.state_dict()) std::cout << name << ' ' << t.sizes() << '\n';

  std::cout << "== save, then load into a fresh model ==\n";
  save(model.state_dict(), path);
  Net fresh;  // drawn after model's: other random weights
  std::cout << py(same_weights(model.state_dict(), fresh.state_dict())) << '\n';
  // load(path, device) puts the tensors on a device of your choice (PyTorch's map_location).
  // load_state_dict copies them into fresh's own parameters, which keep their identity (an
  // optimizer holding them sees the new values), and reports keys that did not match.
  const nn::IncompatibleKeys result = fresh.load_state_dict(load(path, cpu));
  std::cout << py(result.missing_keys) << ' ' << py(result.unexpected_keys) << '\n';
  std::cout << py(same_weights(model.state_dict(), fresh.state_dict())) << '\n';

  std::cout << "== inference ==\n";
  // eval() switches layers such as Dropout to inference behaviour; call it before predicting,
  // since a loaded model starts in training mode like any new one.
  model.eval();
  fresh.eval();
  std::cout << py(fresh.is_training()) << '\n';
  {
    NoGradGuard no_grad;  // predictions need no history
    std::cout << model(x) << '\n';
    std::cout << fresh(x) << '\n';
    std::cout << py(equal(model(x), fresh(x))) << '\n';
  }

  std::cout << "== the file holds named tensors ==\n";
  // A StateDict is an ordinary map: load() needs no model, and any program can inspect it.
  const StateDict loaded = load(path);
  std::cout << py(loaded.keys()) << '\n';
  std::cout << loaded.at("fc2.bias") << '\n';

  std::cout << "== keys and shapes must match ==\n";
  // The same layers in a Sequential are named by position: "0.weight", not "fc1.weight".
  nn::Sequential seq{nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 3)};
  std::cout << seq << '\n';
  std::cout << py(seq.state_dict().keys()) << '\n';
  // By default loading is strict: every key must match, and the error lists the differences
  // in PyTorch's words.
  try {
    seq.load_state_dict(loaded);
  } catch (const Error& e) {
    std::cout << e.what() << '\n';
  }
  // Not strict: matching keys load, and the others come back to be inspected.
  const nn::IncompatibleKeys partial = seq.load_state_dict(loaded, /*strict=*/false);
  std::cout << py(partial.missing_keys) << '\n';
  std::cout << py(partial.unexpected_keys) << '\n';
  // Renaming the keys maps one structure onto the other.
  StateDict renamed;
  for (const auto& [name, t] : loaded) {
    const size_t dot = name.find('.');
    const std::string layer = name.substr(0, dot);
    renamed.insert((layer == "fc1" ? "0" : "2") + name.substr(dot), t);
  }
  std::cout << py(renamed.keys()) << '\n';
  seq.load_state_dict(renamed);
  seq.eval();
  {
    NoGradGuard no_grad;
    std::cout << py(equal(seq(x), model(x))) << '\n';
  }
  // Shapes must match too, strict or not: a wider hidden layer cannot take these weights. The
  // lines after the first say which tensor has which shape.
  nn::Sequential wide{nn::Linear(4, 16), nn::ReLU(), nn::Linear(16, 3)};
  try {
    wide.load_state_dict(renamed);
  } catch (const Error& e) {
    const std::string message = e.what();
    std::cout << message.substr(0, message.find('\n')) << '\n';
  }

  std::cout << "== a training checkpoint ==\n";
  // To resume training later, save more than the weights: the optimizer's state (here SGD's
  // momentum buffers) and where training stopped. A safetensors file holds one flat map of
  // tensors, so the checkpoint is one StateDict with prefixed names (PyTorch would save a
  // dict of dicts) and the epoch is a 0-d tensor.
  model.train();
  optim::SGD optimizer(model.parameters(), /*lr=*/0.02, /*momentum=*/0.9);
  for (int64_t epoch = 0; epoch < 3; ++epoch) train_step(model, optimizer, x, target, epoch);
  StateDict saved;
  for (const auto& [name, t] : model.state_dict()) saved.insert("model." + name, t);
  for (const auto& [name, t] : optimizer.state_dict()) saved.insert("optimizer." + name, t);
  saved.insert("epoch", tensor(int64_t{3}));
  save(saved, path);

  const StateDict checkpoint = load(path);
  Net resumed;
  optim::SGD resumed_optimizer(resumed.parameters(), /*lr=*/0.02, /*momentum=*/0.9);
  resumed.load_state_dict(under(checkpoint, "model."));
  resumed_optimizer.load_state_dict(under(checkpoint, "optimizer."));
  const int64_t start = checkpoint.at("epoch").item<int64_t>();
  // The weights alone are not enough: a fresh optimizer has no momentum yet.
  Net weights_only;
  optim::SGD weights_only_optimizer(weights_only.parameters(), /*lr=*/0.02, /*momentum=*/0.9);
  weights_only.load_state_dict(under(checkpoint, "model."));
  train_step(model, optimizer, x, target, start);
  train_step(resumed, resumed_optimizer, x, target, start);
  train_step(weights_only, weights_only_optimizer, x, target, start);
  std::cout << py(same_weights(model.state_dict(), resumed.state_dict())) << '\n';
  std::cout << py(same_weights(model.state_dict(), weights_only.state_dict())) << '\n';
  std::filesystem::remove(path);
}
