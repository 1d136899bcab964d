// ModuleHolder<Impl>: the value-type handle of a module, as torch::nn::Linear holds a
// LinearImpl. Copies share one module (like Tensor handles), so `nn::Linear m(10, 1);` can be
// passed by value, stored in a Sequential and registered as a submodule, and every copy sees
// the same parameters. The Module API is available directly (`m.parameters()`, `m(x)`) and
// through `m->` (everything of Impl, such as its own members).
#pragma once

#include <memory>
#include <ostream>
#include <utility>

#include "kiln/frontend/nn/module.h"
#include "kiln/runtime/error.h"

namespace kiln::nn {

template <class Impl>
class ModuleHolder : public ModuleHolderTag {
 public:
  using ImplType = Impl;

  // An empty handle, to be assigned later (`nn::Linear fc{nullptr};` as a member).
  ModuleHolder(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  explicit ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  bool is_empty() const { return impl_ == nullptr; }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  Impl& operator*() const { return get(); }
  Impl* operator->() const { return &get(); }
  Impl& get() const {
    if (impl_ == nullptr) throw Error("Accessing empty ModuleHolder");
    return *impl_;
  }

  Tensor forward(const Tensor& input) const { return get().forward(input); }
  Tensor operator()(const Tensor& input) const { return get().forward(input); }

  std::vector<Tensor> parameters(bool recurse = true) const { return get().parameters(recurse); }
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const {
    return get().named_parameters(recurse);
  }
  std::vector<Tensor> buffers(bool recurse = true) const { return get().buffers(recurse); }
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const {
    return get().named_buffers(recurse);
  }
  std::vector<std::shared_ptr<Module>> children() const { return get().children(); }
  StateDict state_dict() const { return get().state_dict(); }
  IncompatibleKeys load_state_dict(const StateDict& state_dict, bool strict = true) const {
    return get().load_state_dict(state_dict, strict);
  }
  void zero_grad(bool set_to_none = false) const { get().zero_grad(set_to_none); }
  Module& train(bool on = true) const { return get().train(on); }
  Module& eval() const { return get().eval(); }
  bool is_training() const { return get().is_training(); }
  Module& to(DType dtype) const { return get().to(dtype); }
  Module& to(Device device) const { return get().to(device); }
  std::string repr() const { return get().repr(); }

 private:
  std::shared_ptr<Impl> impl_;
};

template <class Impl>
std::ostream& operator<<(std::ostream& os, const ModuleHolder<Impl>& holder) {
  return os << holder.get().repr();
}

// A std::shared_ptr to the module behind a handle or a pointer (Sequential's arguments).
template <class M>
std::shared_ptr<Module> as_module_ptr(M&& module) {
  using D = std::decay_t<M>;
  if constexpr (is_module_holder_v<D>) {
    return module.ptr();
  } else {
    static_assert(std::is_convertible_v<D, std::shared_ptr<Module>>,
                  "expected a module handle (nn::Linear, ...) or a std::shared_ptr to a Module");
    return std::shared_ptr<Module>(std::forward<M>(module));
  }
}

}  // namespace kiln::nn
