#include "kiln/frontend/state_dict.h"

#include "kiln/runtime/error.h"

namespace kiln {

const Tensor& StateDict::at(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw Error("StateDict: no entry named '" + name + "'");
  return entries_[it->second].second;
}

Tensor& StateDict::at(const std::string& name) {
  return const_cast<Tensor&>(static_cast<const StateDict&>(*this).at(name));
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const value_type& e : entries_) out.push_back(e.first);
  return out;
}

}  // namespace kiln
