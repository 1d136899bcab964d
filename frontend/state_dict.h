// StateDict: an insertion-ordered name -> Tensor map (API.md), what modules and optimizers
// export and what save/load read and write. Iteration yields
// std::pair<const std::string, Tensor>&, in insertion order, as `for (auto& [name, t] : sd)`.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kiln/frontend/tensor.h"

namespace kiln {

class StateDict {
 public:
  using value_type = std::pair<const std::string, Tensor>;
  using iterator = std::vector<value_type>::iterator;
  using const_iterator = std::vector<value_type>::const_iterator;

  StateDict() = default;

  // The tensor under `name`, inserted (undefined) at the end when absent.
  Tensor& operator[](const std::string& name) {
    auto it = index_.find(name);
    if (it != index_.end()) return entries_[it->second].second;
    index_.emplace(name, entries_.size());
    entries_.emplace_back(name, Tensor());
    return entries_.back().second;
  }
  // Throws kiln::Error naming the key when absent.
  const Tensor& at(const std::string& name) const;
  Tensor& at(const std::string& name);
  bool contains(const std::string& name) const { return index_.contains(name); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Appends (name, t), or replaces the tensor of an existing name in place.
  void insert(const std::string& name, Tensor t) { (*this)[name] = std::move(t); }
  std::vector<std::string> keys() const;

  iterator begin() { return entries_.begin(); }
  iterator end() { return entries_.end(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }

 private:
  std::vector<value_type> entries_;
  absl::flat_hash_map<std::string, size_t> index_;
};

}  // namespace kiln
