#include "kiln/frontend/realization_cache.h"

#include <atomic>
#include <cstdlib>
#include <list>
#include <memory>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "kiln/passes/pipeline.h"

namespace kiln::frontend {
namespace {

// Entries kept, and nodes over all their key graphs: beyond either, the least recently used
// go. Programs hold no buffers, so an entry costs a few hundred bytes per node.
constexpr size_t kMaxEntries = 512;
constexpr int64_t kMaxNodes = 1 << 20;

std::atomic<uint64_t> hits{0};
std::atomic<uint64_t> misses{0};
std::atomic<uint64_t> entry_count{0};

bool cache_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("KILN_REALIZATION_CACHE");
    return v == nullptr || std::string_view(v) != "0";
  }();
  return on;
}

struct Entry {
  size_t hash = 0;
  const backends::Backend* backend = nullptr;
  ir::Graph key;  // the graph as the frontend built it, before the passes
  std::unique_ptr<backends::Executable> executable;
};

// Most recently used first; `index` finds the entries of a hash.
class Cache {
 public:
  backends::Executable* find(const PendingGraph& pending, const backends::Backend& backend) {
    auto it = index_.find(pending.hash());
    if (it == index_.end()) return nullptr;
    for (auto entry : it->second) {
      if (entry->backend != &backend || !pending.same_as(entry->key)) continue;
      order_.splice(order_.begin(), order_, entry);
      return entry->executable.get();
    }
    return nullptr;
  }

  backends::Executable* add(Entry entry) {
    nodes_ += entry.key.size();
    order_.push_front(std::move(entry));
    index_[order_.front().hash].push_back(order_.begin());
    while (order_.size() > kMaxEntries || (nodes_ > kMaxNodes && order_.size() > 1)) evict_last();
    entry_count = order_.size();
    return order_.front().executable.get();
  }

 private:
  void evict_last() {
    auto last = std::prev(order_.end());
    auto& bucket = index_[last->hash];
    std::erase(bucket, last);
    if (bucket.empty()) index_.erase(last->hash);
    nodes_ -= last->key.size();
    order_.erase(last);
  }

  std::list<Entry> order_;
  absl::flat_hash_map<size_t, std::vector<std::list<Entry>::iterator>> index_;
  int64_t nodes_ = 0;
};

Cache& cache() {
  static Cache* const c = new Cache;  // never destroyed: executables may outlive static order
  return *c;
}

std::unique_ptr<backends::Executable> optimize_and_compile(ir::Graph graph,
                                                           backends::Backend& backend) {
  ++misses;
  passes::run_realization_pipeline(graph);
  return backend.compile(std::move(graph));
}

}  // namespace

RealizationCacheStats realization_cache_stats() {
  return RealizationCacheStats{hits.load(), misses.load(), entry_count.load()};
}

std::vector<backends::BufferPtr> run_realization(const PendingGraph& pending,
                                                 backends::Backend& backend, size_t size_hint) {
  if (!cache_enabled())
    return optimize_and_compile(pending.to_graph(size_hint), backend)->run(pending.inputs);
  if (backends::Executable* hit = cache().find(pending, backend)) {
    ++hits;
    return hit->run(pending.inputs);
  }
  ir::Graph graph = pending.to_graph(size_hint);
  Entry entry{pending.hash(), &backend, graph, optimize_and_compile(std::move(graph), backend)};
  return cache().add(std::move(entry))->run(pending.inputs);
}

}  // namespace kiln::frontend
