// optim::Optimizer: the base of SGD, Adam and AdamW (torch.optim.Optimizer). Parameters come
// in groups, each with its own hyperparameters (options); per-parameter state (momentum
// buffers, moment estimates) is kept by the parameter's position across all groups, which is
// also its id in state_dict(). Updates run without recording history and write into the
// parameters in place, so every handle to a parameter (the module's, the user's) sees them.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "kiln/frontend/state_dict.h"
#include "kiln/frontend/tensor.h"

namespace kiln::optim {

// A group's hyperparameters, in insertion order: each a number or a tuple of numbers (Adam's
// betas). Flags (nesterov, amsgrad, maximize) are numbers 0 and 1.
class GroupOptions {
 public:
  GroupOptions() = default;
  GroupOptions(std::initializer_list<std::pair<std::string, double>> numbers);

  // The number under `name`, inserted (as 0) when absent: `group["lr"] = 0.01`.
  double& operator[](const std::string& name);
  // Throws kiln::Error when absent or a tuple.
  double get(const std::string& name) const;
  // Throws kiln::Error when absent or not a tuple.
  const std::vector<double>& tuple(const std::string& name) const;
  void set(const std::string& name, double value) { (*this)[name] = value; }
  void set_tuple(const std::string& name, std::vector<double> values);
  bool contains(const std::string& name) const { return find(name) != nullptr; }

  struct Entry {
    std::string name;
    std::vector<double> values;
    bool is_tuple = false;
  };
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  const Entry* find(const std::string& name) const;
  std::vector<Entry> entries_;
};

struct ParamGroup {
  ParamGroup(std::vector<Tensor> params, GroupOptions options = {})  // NOLINT
      : params(std::move(params)), options(std::move(options)) {}
  std::vector<Tensor> params;
  GroupOptions options;

  double& operator[](const std::string& name) { return options[name]; }
  double get(const std::string& name) const { return options.get(name); }
};

// The state of one parameter, its tensors by name in insertion order (momentum_buffer; Adam's
// step, exp_avg, ...). Adam's step count is a tensor too, as PyTorch's capturable one, so that a
// compiled step updates it in the program.
struct ParamState {
  StateDict tensors;
  bool empty() const { return tensors.empty(); }
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient (parameters without one are skipped).
  virtual void step() = 0;
  // Evaluates `closure` (which recomputes the loss and calls backward) and then steps; returns
  // the closure's loss.
  Tensor step(const std::function<Tensor()>& closure);
  // Zeroes the gradients of every parameter (PyTorch 1.13's default), or undefines them.
  void zero_grad(bool set_to_none = false);

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  // Adds a group; options it lacks take the optimizer's defaults.
  void add_param_group(ParamGroup group);

  // PyTorch's optimizer state_dict, flattened into names: "state.<id>.<name>" for each
  // parameter's state (ids count parameters across groups; steps are float32 0-d tensors),
  // then "param_groups.<g>.<option>" (float64: 0-d for numbers, 1-d for tuples) and
  // "param_groups.<g>.params" (int64 ids). The tensors are copies.
  StateDict state_dict() const;
  // Restores a state_dict() of an optimizer over parameters of the same shapes and groups:
  // the options of each group and the state of each parameter (converted to its dtype and
  // device; a step becomes a float32 0-d tensor on the parameter's device, whatever its saved
  // dtype, as PyTorch never casts 'step').
  // Throws kiln::Error, as PyTorch, when the group count or a group's size differs.
  void load_state_dict(const StateDict& state_dict);

  const GroupOptions& defaults() const { return defaults_; }

 protected:
  Optimizer(std::vector<ParamGroup> groups, GroupOptions defaults);
  // The state of the parameter with this id (position across groups).
  ParamState& state(size_t id) { return state_[id]; }

 private:
  GroupOptions defaults_;
  std::vector<ParamGroup> groups_;
  std::vector<ParamState> state_;  // by parameter id
};

namespace detail {
// Throws "Invalid <what>: <value>" (PyTorch's constructor checks) when value < 0.
void check_non_negative(double value, const char* what);
}  // namespace detail

}  // namespace kiln::optim
