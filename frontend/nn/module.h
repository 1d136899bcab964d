// nn::Module: the base of every layer and model (torch.nn.Module). A module owns named
// parameters (leaves that require grad), buffers and child modules, each kept in registration
// order, which is the order parameters(), named_parameters() and state_dict() report them in,
// as in PyTorch. Names of nested members are dotted: "0.weight", "fc1.bias".
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kiln/frontend/state_dict.h"
#include "kiln/frontend/tensor.h"

namespace kiln::nn {

class Module;

// Marks the value-type handles (nn::Linear, nn::Sequential, ...; module_holder.h) so that
// register_module and Sequential accept them beside std::shared_ptr<M>.
struct ModuleHolderTag {};
template <class T>
inline constexpr bool is_module_holder_v = std::is_base_of_v<ModuleHolderTag, std::decay_t<T>>;

// What load_state_dict(strict = false) reports (PyTorch's _IncompatibleKeys).
struct IncompatibleKeys {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

class Module {
 public:
  // `name` is what printing and error messages call the module; empty: the C++ class name
  // without namespaces and without a trailing "Impl" (LinearImpl prints as Linear).
  explicit Module(std::string name = "");
  virtual ~Module() = default;
  // Modules are shared through std::shared_ptr and handles; a copy would silently share or
  // duplicate parameters, so there is none (PyTorch's copy.deepcopy has no C++ equivalent).
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The computation. The base class throws: a module meant to be called overrides it.
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }

  // ---- registration ----
  // Registers `value` as a parameter: a leaf sharing `value`'s storage that requires grad
  // (nn.Parameter(value)); an undefined tensor registers an absent parameter (PyTorch's
  // register_parameter(name, None), as Linear's bias when bias = false). Re-registering a name
  // replaces the parameter. Returns the parameter.
  Tensor register_parameter(const std::string& name, const Tensor& value,
                            bool requires_grad = true);
  // Registers a tensor that is state but not a parameter (running statistics). Persistent
  // buffers are part of state_dict().
  Tensor register_buffer(const std::string& name, const Tensor& value, bool persistent = true);
  // Registers a child module and returns it (std::shared_ptr<M> or a handle such as nn::Linear).
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "register_module takes modules");
    add_child(name, module);
    return module;
  }
  template <class H, std::enable_if_t<is_module_holder_v<H>, int> = 0>
  std::decay_t<H> register_module(const std::string& name, H&& holder) {
    add_child(name, holder.ptr());
    return std::forward<H>(holder);
  }

  // ---- members (recursive by default; a tensor or module reachable twice is listed once) ----
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }
  // Calls fn on every descendant (children first, depth first) and then on this module, as
  // torch's Module.apply (custom initialisation).
  void apply(const std::function<void(Module&)>& fn);

  // ---- state ----
  // Parameters and persistent buffers under their dotted names, detached (sharing storage, as
  // PyTorch's state_dict()). Order: a module's parameters, its buffers, then each child's.
  StateDict state_dict() const;
  // Copies the values of `state_dict` into the parameters and buffers in place (without
  // recording history; dtypes convert as copy_ does). With `strict`, every key must match:
  // throws kiln::Error listing missing and unexpected keys, shape mismatches and failed copies
  // in PyTorch's words ("Error(s) in loading state_dict for Linear: ..."). Shape mismatches
  // throw also when not strict; the missing and unexpected keys are then returned.
  IncompatibleKeys load_state_dict(const StateDict& state_dict, bool strict = true);

  // Zeroes every parameter's gradient in place (PyTorch 1.13's default), or undefines it with
  // set_to_none so the next backward writes a fresh gradient.
  void zero_grad(bool set_to_none = false);

  // ---- mode ----
  Module& train(bool on = true);  // this module and every descendant
  Module& eval() { return train(false); }
  bool is_training() const { return training_; }

  // ---- conversion (in place: the parameters stay the same tensors, as module.to in PyTorch)
  // Floating-point parameters, their gradients and floating-point buffers become `dtype`,
  // which must be floating.
  Module& to(DType dtype);
  Module& to(Device device);

  // ---- printing ----
  // The class name shown by operator<< and in errors.
  const std::string& name() const;
  // The one-line description inside the parentheses ("in_features=10, out_features=1, ...").
  virtual std::string extra_repr() const { return ""; }
  // PyTorch's repr: name(extra_repr) or, with children, one indented "(name): child" per line.
  std::string repr() const;

 protected:
  // Adds (or replaces) a child; handles and std::shared_ptr both end here.
  void add_child(const std::string& name, std::shared_ptr<Module> module);

 private:
  struct Entry {
    std::string name;
    Tensor value;  // undefined: registered as None
    bool persistent = true;
  };
  // Appends (prefix + name, tensor) of every defined parameter (or buffer), recursively,
  // visiting each module once.
  void collect(bool buffers, bool recurse, const std::string& prefix,
               std::vector<const Module*>& seen_modules,
               std::vector<std::pair<std::string, Tensor>>& out) const;
  void load_into(const StateDict& state_dict, const std::string& prefix,
                 std::vector<std::string>& missing, std::vector<std::string>& unexpected,
                 std::vector<std::string>& errors);
  template <class Fn>
  void for_each_tensor(Fn&& fn);  // every parameter and buffer here and below, once
  void check_new_name(const std::string& name, const char* kind, int own) const;

  mutable std::string name_;
  bool training_ = true;
  std::vector<Entry> parameters_;
  std::vector<Entry> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

std::ostream& operator<<(std::ostream& os, const Module& module);

namespace detail {
// Zeroes (or undefines) one parameter's gradient, as Module::zero_grad and optimizers do.
void zero_grad(const Tensor& parameter, bool set_to_none);
}  // namespace detail

}  // namespace kiln::nn
