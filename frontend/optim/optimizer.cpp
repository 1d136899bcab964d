#include "kiln/frontend/optim/optimizer.h"

#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/grad_api.h"
#include "kiln/frontend/nn/module.h"
#include "kiln/frontend/nn/python_repr.h"
#include "kiln/runtime/error.h"

namespace kiln::optim {

// ---- GroupOptions ----

GroupOptions::GroupOptions(std::initializer_list<std::pair<std::string, double>> numbers) {
  for (const auto& [name, value] : numbers) set(name, value);
}

const GroupOptions::Entry* GroupOptions::find(const std::string& name) const {
  for (const Entry& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

double& GroupOptions::operator[](const std::string& name) {
  for (Entry& e : entries_) {
    if (e.name != name) continue;
    if (e.is_tuple) throw Error("optimizer option '" + name + "' is a tuple");
    return e.values[0];
  }
  entries_.push_back({name, {0.0}, false});
  return entries_.back().values[0];
}

double GroupOptions::get(const std::string& name) const {
  const Entry* e = find(name);
  if (e == nullptr) throw Error("optimizer option '" + name + "' is not set");
  if (e->is_tuple) throw Error("optimizer option '" + name + "' is a tuple");
  return e->values[0];
}

const std::vector<double>& GroupOptions::tuple(const std::string& name) const {
  const Entry* e = find(name);
  if (e == nullptr) throw Error("optimizer option '" + name + "' is not set");
  if (!e->is_tuple) throw Error("optimizer option '" + name + "' is not a tuple");
  return e->values;
}

void GroupOptions::set_tuple(const std::string& name, std::vector<double> values) {
  for (Entry& e : entries_) {
    if (e.name == name) {
      e.values = std::move(values);
      e.is_tuple = true;
      return;
    }
  }
  entries_.push_back({name, std::move(values), true});
}

void detail::check_non_negative(double value, const char* what) {
  if (!(value >= 0.0))
    throw Error(absl::StrCat("Invalid ", what, ": ", nn::detail::python_float_repr(value)));
}

// ---- Optimizer ----

Optimizer::Optimizer(std::vector<ParamGroup> groups, GroupOptions defaults)
    : defaults_(std::move(defaults)) {
  if (groups.empty()) throw Error("optimizer got an empty parameter list");
  for (ParamGroup& group : groups) add_param_group(std::move(group));
  bool any = false;
  for (const ParamGroup& group : groups_) any = any || !group.params.empty();
  if (!any) throw Error("optimizer got an empty parameter list");
}

void Optimizer::add_param_group(ParamGroup group) {
  for (const Tensor& p : group.params) {
    if (!p.defined()) throw Error("optimizer can only optimize defined Tensors");
    if (!p.is_leaf()) throw Error("can't optimize a non-leaf Tensor");
  }
  absl::flat_hash_set<const void*> seen;
  for (const ParamGroup& g : groups_)
    for (const Tensor& p : g.params) seen.insert(p.impl().get());
  for (const Tensor& p : group.params) {
    if (!seen.insert(p.impl().get()).second)
      throw Error("some parameters appear in more than one parameter group");
  }
  // Missing options take the defaults, in the defaults' order (PyTorch's setdefault).
  GroupOptions options;
  for (const GroupOptions::Entry& d : defaults_.entries()) {
    const GroupOptions::Entry* given = nullptr;
    for (const GroupOptions::Entry& e : group.options.entries())
      if (e.name == d.name) given = &e;
    const GroupOptions::Entry& use = given != nullptr ? *given : d;
    if (use.is_tuple)
      options.set_tuple(use.name, use.values);
    else
      options.set(use.name, use.values[0]);
  }
  for (const GroupOptions::Entry& e : group.options.entries()) {
    if (options.contains(e.name)) continue;
    if (e.is_tuple)
      options.set_tuple(e.name, e.values);
    else
      options.set(e.name, e.values[0]);
  }
  group.options = std::move(options);
  state_.resize(state_.size() + group.params.size());
  groups_.push_back(std::move(group));
}

Tensor Optimizer::step(const std::function<Tensor()>& closure) {
  Tensor loss;
  {
    // The closure runs with grad mode on even if the caller turned it off (torch.enable_grad).
    const bool previous = is_grad_enabled();
    set_grad_enabled(true);
    try {
      loss = closure();
    } catch (...) {
      set_grad_enabled(previous);
      throw;
    }
    set_grad_enabled(previous);
  }
  step();
  return loss;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (const ParamGroup& group : groups_)
    for (const Tensor& p : group.params) nn::detail::zero_grad(p, set_to_none);
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  NoGradGuard no_grad;
  for (size_t id = 0; id < state_.size(); ++id) {
    const ParamState& s = state_[id];
    const std::string prefix = absl::StrCat("state.", id, ".");
    for (const auto& [name, t] : s.tensors) out.insert(prefix + name, t.clone());
  }
  int64_t next_id = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::string prefix = absl::StrCat("param_groups.", g, ".");
    for (const GroupOptions::Entry& e : groups_[g].options.entries()) {
      out.insert(prefix + e.name,
                 e.is_tuple ? tensor(e.values, float64) : tensor(e.values[0], float64));
    }
    std::vector<int64_t> ids;
    for (size_t i = 0; i < groups_[g].params.size(); ++i) ids.push_back(next_id++);
    out.insert(prefix + "params", tensor(ids));
  }
  return out;
}

void Optimizer::load_state_dict(const StateDict& state_dict) {
  // Split the flat names back into groups and per-id state.
  std::map<int64_t, std::vector<std::pair<std::string, Tensor>>> saved_groups, saved_state;
  for (const auto& [key, value] : state_dict) {
    std::vector<std::string> parts = absl::StrSplit(key, absl::MaxSplits('.', 2));
    int64_t index = 0;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &index) ||
        (parts[0] != "state" && parts[0] != "param_groups"))
      throw Error("optimizer state_dict: unexpected key '" + key + "'");
    (parts[0] == "state" ? saved_state : saved_groups)[index].emplace_back(parts[2], value);
  }
  if (saved_groups.size() != groups_.size())
    throw Error("loaded state dict has a different number of parameter groups");
  // Saved ids map to the current parameters in order (PyTorch zips them the same way).
  std::map<int64_t, size_t> id_to_param;
  std::vector<GroupOptions> new_options;
  size_t param_id = 0;
  size_t g = 0;
  for (const auto& [group_index, entries] : saved_groups) {
    Tensor ids;
    GroupOptions options;
    for (const auto& [name, value] : entries) {
      if (name == "params") {
        ids = value;
      } else if (value.dim() == 0) {
        options.set(name, value.item<double>());
      } else {
        options.set_tuple(name, value.tolist<double>());
      }
    }
    if (group_index != static_cast<int64_t>(g) || !ids.defined())
      throw Error("optimizer state_dict: param_groups." + std::to_string(g) + ".params missing");
    if (ids.numel() != static_cast<int64_t>(groups_[g].params.size()))
      throw Error(
          "loaded state dict contains a parameter group that doesn't match the size of "
          "optimizer's group");
    for (int64_t id : ids.tolist<int64_t>()) id_to_param[id] = param_id++;
    // Options the checkpoint lacks (from an older version) keep the defaults.
    for (const GroupOptions::Entry& d : defaults_.entries()) {
      if (options.contains(d.name)) continue;
      if (d.is_tuple)
        options.set_tuple(d.name, d.values);
      else
        options.set(d.name, d.values[0]);
    }
    new_options.push_back(std::move(options));
    ++g;
  }
  // The parameter of each id, to convert state tensors to its dtype.
  std::vector<const Tensor*> params;
  for (const ParamGroup& group : groups_)
    for (const Tensor& p : group.params) params.push_back(&p);
  std::vector<ParamState> new_state(state_.size());
  NoGradGuard no_grad;
  for (const auto& [id, entries] : saved_state) {
    auto it = id_to_param.find(id);
    if (it == id_to_param.end()) continue;  // state of no current parameter (PyTorch keeps it)
    const Tensor& param = *params[it->second];
    ParamState& s = new_state[it->second];
    for (const auto& [name, value] : entries) {
      if (name == "step") {
        // Checkpoints hold it as a float32 0-d tensor (kiln's and PyTorch's); one of another
        // dtype or a 1-element shape still loads.
        if (value.numel() != 1)
          throw Error("optimizer state_dict: state." + std::to_string(id) +
                      ".step is not a number");
        s.tensors.insert(name, value.reshape({}).to(float32).to(param.device()).clone());
      } else {
        // A copy (PyTorch deep-copies the loaded dict), in the parameter's floating dtype.
        Tensor t = value.is_floating_point() && param.is_floating_point() ? value.to(param.dtype())
                                                                          : value;
        s.tensors.insert(name, t.to(param.device()).clone());
      }
    }
  }
  for (size_t i = 0; i < groups_.size(); ++i) groups_[i].options = std::move(new_options[i]);
  state_ = std::move(new_state);
}

}  // namespace kiln::optim
