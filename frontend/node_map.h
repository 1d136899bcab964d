// A map keyed by lazy nodes for walks and lookups over a few of them (one eager op's autograd
// fragment, the targets of one realization), where scanning an inline array costs less than
// hashing into a heap table; past kInline entries the map moves to a hash table, so large
// inputs stay linear. (The walk over whole pending graphs, pending_graph.h, stamps the nodes
// instead.)
#pragma once

#include <cstddef>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "kiln/frontend/lazy.h"

namespace kiln::frontend {

template <typename V, size_t kInline = 16>
class NodeMap {
 public:
  const V* find(const LazyNode* node) const {
    if (large_.empty()) {
      for (const auto& [n, v] : small_)
        if (n == node) return &v;
      return nullptr;
    }
    auto it = large_.find(node);
    return it == large_.end() ? nullptr : &it->second;
  }
  bool contains(const LazyNode* node) const { return find(node) != nullptr; }
  // A node added twice keeps its first value.
  void emplace(const LazyNode* node, V value) {
    if (large_.empty() && small_.size() < kInline) {
      small_.emplace_back(node, std::move(value));
      return;
    }
    if (large_.empty()) {
      large_.reserve(4 * kInline);
      for (auto& [n, v] : small_) large_.emplace(n, std::move(v));
      small_.clear();
    }
    large_.emplace(node, std::move(value));
  }

 private:
  absl::InlinedVector<std::pair<const LazyNode*, V>, kInline> small_;
  absl::flat_hash_map<const LazyNode*, V> large_;
};

}  // namespace kiln::frontend
