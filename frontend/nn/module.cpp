#include "kiln/frontend/nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <ostream>
#include <typeinfo>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "kiln/frontend/autograd/meta.h"
#include "kiln/frontend/grad_api.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/runtime/error.h"

namespace kiln::nn {

namespace {

// The demangled class name without namespaces or template arguments' namespaces.
std::string class_name(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : type.name();
  std::free(demangled);
  // "kiln::nn::LinearImpl" -> "LinearImpl"; a template keeps its arguments after the cut.
  const size_t angle = name.find('<');
  const size_t colon = name.rfind("::", angle);
  if (colon != std::string::npos) name = name.substr(colon + 2);
  // The handle pattern (nn::Linear holds a LinearImpl): users know the handle's name.
  if (name.size() > 4 && name.ends_with("Impl")) name.resize(name.size() - 4);
  return name;
}

// PyTorch's _addindent: every line after the first gets `spaces` more spaces.
std::string add_indent(const std::string& text, int spaces) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (lines.size() == 1) return text;
  const std::string pad(spaces, ' ');
  for (size_t i = 1; i < lines.size(); ++i) lines[i] = pad + lines[i];
  return absl::StrJoin(lines, "\n");
}

const frontend::TensorImpl* identity(const Tensor& t) { return t.impl().get(); }

}  // namespace

Module::Module(std::string name) : name_(std::move(name)) {}

Tensor Module::forward(const Tensor&) {
  throw Error(absl::StrCat("Module [", name(), "] is missing the required \"forward\" function"));
}

const std::string& Module::name() const {
  // typeid(*this) names the derived class only once construction is over, so the default
  // name is found on first use rather than in the constructor.
  if (name_.empty()) name_ = class_name(typeid(*this));
  return name_;
}

// ---- registration ----

// `own`: 0 parameter, 1 buffer, 2 module. A name may be re-registered as the same kind only
// (PyTorch: "attribute 'x' already exists").
void Module::check_new_name(const std::string& name, const char* kind, int own) const {
  if (name.empty()) throw Error(absl::StrCat(kind, " name can't be empty string \"\""));
  // PyTorch names the offending name for modules only.
  if (name.find('.') != std::string::npos)
    throw Error(absl::StrCat(kind, " name can't contain \".\"", own == 2 ? ", got: " + name : ""));
  auto taken = [&](const auto& entries) {
    for (const auto& e : entries) {
      if constexpr (std::is_same_v<std::decay_t<decltype(e)>, Entry>) {
        if (e.name == name) return true;
      } else if (e.first == name) {
        return true;
      }
    }
    return false;
  };
  if ((own != 0 && taken(parameters_)) || (own != 1 && taken(buffers_)) ||
      (own != 2 && taken(children_)))
    throw Error(absl::StrCat("attribute '", name, "' already exists"));
}

Tensor Module::register_parameter(const std::string& name, const Tensor& value,
                                  bool requires_grad) {
  check_new_name(name, "parameter", 0);
  Tensor parameter;
  if (value.defined()) {
    // nn.Parameter(t): a new leaf over t's storage, whatever history t had.
    parameter = value.detach();
    if (requires_grad) parameter.requires_grad_();
  }
  for (Entry& e : parameters_) {
    if (e.name == name) {
      e.value = parameter;
      return parameter;
    }
  }
  parameters_.push_back({name, parameter, true});
  return parameter;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& value, bool persistent) {
  check_new_name(name, "buffer", 1);
  for (Entry& e : buffers_) {
    if (e.name == name) {
      e.value = value;
      e.persistent = persistent;
      return value;
    }
  }
  buffers_.push_back({name, value, persistent});
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name, "module", 2);
  if (module == nullptr) throw Error(absl::StrCat("register_module: module '", name, "' is null"));
  for (auto& [child_name, child] : children_) {
    if (child_name == name) {
      child = std::move(module);
      return;
    }
  }
  children_.emplace_back(name, std::move(module));
}

// ---- members ----

void Module::collect(bool buffers, bool recurse, const std::string& prefix,
                     std::vector<const Module*>& seen_modules,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const Entry& e : buffers ? buffers_ : parameters_)
    if (e.value.defined()) out.emplace_back(prefix + e.name, e.value);
  if (!recurse) return;
  for (const auto& [child_name, child] : children_) {
    bool seen = false;
    for (const Module* m : seen_modules) seen = seen || m == child.get();
    if (seen) continue;
    seen_modules.push_back(child.get());
    child->collect(buffers, recurse, prefix + child_name + ".", seen_modules, out);
  }
}

namespace {
// named_parameters() lists a tensor reachable under two names once, by its first name.
std::vector<std::pair<std::string, Tensor>> unique_tensors(
    std::vector<std::pair<std::string, Tensor>> all) {
  absl::flat_hash_set<const frontend::TensorImpl*> seen;
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& entry : all) {
    if (seen.insert(identity(entry.second)).second) out.push_back(std::move(entry));
  }
  return out;
}
}  // namespace

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<const Module*> seen{this};
  std::vector<std::pair<std::string, Tensor>> out;
  collect(/*buffers=*/false, recurse, "", seen, out);
  return unique_tensors(std::move(out));
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<const Module*> seen{this};
  std::vector<std::pair<std::string, Tensor>> out;
  collect(/*buffers=*/true, recurse, "", seen, out);
  return unique_tensors(std::move(out));
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : children_) out.push_back(child);
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, child] : children_) child->apply(fn);
  fn(*this);
}

// ---- state ----

StateDict Module::state_dict() const {
  // Not deduplicated: a module shared by two parents is saved under both names (PyTorch).
  StateDict out;
  std::function<void(const Module&, const std::string&)> visit = [&](const Module& m,
                                                                     const std::string& prefix) {
    for (const Entry& e : m.parameters_)
      if (e.value.defined()) out.insert(prefix + e.name, e.value.detach());
    for (const Entry& e : m.buffers_)
      if (e.value.defined() && e.persistent) out.insert(prefix + e.name, e.value.detach());
    for (const auto& [child_name, child] : m.children_) visit(*child, prefix + child_name + ".");
  };
  visit(*this, "");
  return out;
}

void Module::load_into(const StateDict& state_dict, const std::string& prefix,
                       std::vector<std::string>& missing, std::vector<std::string>& unexpected,
                       std::vector<std::string>& errors) {
  // Own parameters and persistent buffers (PyTorch's local_state).
  std::vector<const Entry*> local;
  for (const Entry& e : parameters_)
    if (e.value.defined()) local.push_back(&e);
  for (const Entry& e : buffers_)
    if (e.value.defined() && e.persistent) local.push_back(&e);
  for (const Entry* e : local) {
    const std::string key = prefix + e->name;
    if (!state_dict.contains(key)) {
      missing.push_back(key);
      continue;
    }
    Tensor input = state_dict.at(key);
    const Tensor& param = e->value;
    if (!input.defined()) {
      errors.push_back(absl::StrCat("While copying the parameter named \"", key,
                                    "\", expected a defined Tensor from checkpoint"));
      continue;
    }
    // Old checkpoints saved 0-d parameters as 1-element vectors.
    if (param.dim() == 0 && input.dim() == 1) input = input[0];
    if (input.sizes() != param.sizes()) {
      errors.push_back(absl::StrCat("size mismatch for ", key, ": copying a param with shape ",
                                    shape_to_string(input.sizes()),
                                    " from checkpoint, the shape in current model is ",
                                    shape_to_string(param.sizes()), "."));
      continue;
    }
    try {
      NoGradGuard no_grad;
      param.copy_(input);
    } catch (const Error& ex) {
      errors.push_back(absl::StrCat(
          "While copying the parameter named \"", key, "\", whose dimensions in the model are ",
          shape_to_string(param.sizes()), " and whose dimensions in the checkpoint are ",
          shape_to_string(input.sizes()), ", an exception occurred : ", ex.what(), "."));
    }
  }
  // Keys under this prefix naming neither a local tensor nor a child.
  for (const auto& [key, value] : state_dict) {
    if (!key.starts_with(prefix)) continue;
    const std::string rest = key.substr(prefix.size());
    const std::string head = rest.substr(0, rest.find('.'));
    bool known = false;
    for (const Entry* e : local) known = known || e->name == head;
    for (const auto& [child_name, child] : children_) known = known || child_name == head;
    if (!known) unexpected.push_back(key);
  }
  for (auto& [child_name, child] : children_)
    child->load_into(state_dict, prefix + child_name + ".", missing, unexpected, errors);
}

IncompatibleKeys Module::load_state_dict(const StateDict& state_dict, bool strict) {
  IncompatibleKeys keys;
  std::vector<std::string> errors;
  load_into(state_dict, "", keys.missing_keys, keys.unexpected_keys, errors);
  auto quoted = [](const std::vector<std::string>& names) {
    return absl::StrJoin(names, ", ", [](std::string* out, const std::string& name) {
      absl::StrAppend(out, "\"", name, "\"");
    });
  };
  if (strict) {
    if (!keys.unexpected_keys.empty())
      errors.insert(
          errors.begin(),
          absl::StrCat("Unexpected key(s) in state_dict: ", quoted(keys.unexpected_keys), ". "));
    if (!keys.missing_keys.empty())
      errors.insert(
          errors.begin(),
          absl::StrCat("Missing key(s) in state_dict: ", quoted(keys.missing_keys), ". "));
  }
  if (!errors.empty())
    throw Error(absl::StrCat("Error(s) in loading state_dict for ", name(), ":\n\t",
                             absl::StrJoin(errors, "\n\t")));
  return keys;
}

void Module::zero_grad(bool set_to_none) {
  for (const Tensor& p : parameters()) detail::zero_grad(p, set_to_none);
}

void detail::zero_grad(const Tensor& parameter, bool set_to_none) {
  // The gradient lives in the parameter's autograd record; there is no public setter (PyTorch's
  // `p.grad = None`), so this reaches into it.
  const auto& meta = frontend::impl_of(parameter).autograd;
  if (meta == nullptr || !meta->grad.defined()) return;
  if (set_to_none) {
    meta->grad = Tensor();
    return;
  }
  NoGradGuard no_grad;
  // A gradient computed with create_graph has history; zeroing it must not extend it.
  if (meta->grad.requires_grad()) meta->grad = meta->grad.detach();
  meta->grad.zero_();
}

// ---- mode and conversion ----

Module& Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
  return *this;
}

template <class Fn>
void Module::for_each_tensor(Fn&& fn) {
  absl::flat_hash_set<const frontend::TensorImpl*> seen;
  std::function<void(Module&)> visit = [&](Module& m) {
    for (Entry& e : m.parameters_)
      if (e.value.defined() && seen.insert(identity(e.value)).second) fn(e.value, true);
    for (Entry& e : m.buffers_)
      if (e.value.defined() && seen.insert(identity(e.value)).second) fn(e.value, false);
    for (auto& [name, child] : m.children_) visit(*child);
  };
  visit(*this);
}

Module& Module::to(DType dtype) {
  if (!is_floating_point(dtype))
    throw Error(absl::StrCat(
        "nn.Module.to only accepts floating point or complex dtypes, but got desired dtype=",
        std::string(kiln::name(dtype))));
  NoGradGuard no_grad;
  // set_data rebinds the tensor itself, so every handle (Linear::weight(), an optimizer's
  // parameter list) sees the converted values, as `param.data = param.data.to(dtype)`.
  for_each_tensor([&](const Tensor& t, bool is_parameter) {
    if (!t.is_floating_point() || t.dtype() == dtype) return;
    t.set_data(t.detach().to(dtype));
    if (is_parameter && t.grad().defined()) t.grad().set_data(t.grad().detach().to(dtype));
  });
  return *this;
}

Module& Module::to(Device device) {
  NoGradGuard no_grad;
  for_each_tensor([&](const Tensor& t, bool is_parameter) {
    if (t.device() == device) return;
    t.set_data(t.detach().to(device));
    if (is_parameter && t.grad().defined()) t.grad().set_data(t.grad().detach().to(device));
  });
  return *this;
}

// ---- printing ----

std::string Module::repr() const {
  std::vector<std::string> lines;
  const std::string extra = extra_repr();
  std::vector<std::string> extra_lines;
  if (!extra.empty()) extra_lines = absl::StrSplit(extra, '\n');
  lines = extra_lines;
  for (const auto& [child_name, child] : children_)
    lines.push_back(absl::StrCat("(", child_name, "): ", add_indent(child->repr(), 2)));
  std::string out = name() + "(";
  if (extra_lines.size() == 1 && children_.empty()) {
    out += extra_lines[0];
  } else if (!lines.empty()) {
    out += "\n  " + absl::StrJoin(lines, "\n  ") + "\n";
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Module& module) { return os << module.repr(); }

}  // namespace kiln::nn
