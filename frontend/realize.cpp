#include "kiln/frontend/realize.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "kiln/backends/backend.h"
#include "kiln/frontend/compile/trace_state.h"
#include "kiln/frontend/pending_graph.h"
#include "kiln/frontend/realization_cache.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/runtime/error.h"

namespace kiln::frontend {
namespace {

// Pending nodes recorded since the last realization before everything is realized.
constexpr int64_t kPendingNodeCap = 4096;
// The most pending nodes a value left pending by realize_reading may need to be recomputed.
constexpr int64_t kMaxDeferredNodes = 32;

struct PendingState {
  std::mutex mutex;
  std::vector<std::weak_ptr<Storage>> storages;
  int64_t recorded_nodes = 0;
  uint64_t realizations = 0;  // realize_locked calls so far
};
PendingState& pending_state() {
  static PendingState s;
  return s;
}

bool sync_mode() {
  static const bool sync = [] {
    const char* env = std::getenv("KILN_SYNC");
    return env != nullptr && std::string(env) == "1";
  }();
  return sync;
}

// The pending nodes reachable from `targets` (realized nodes end the walk).
absl::flat_hash_set<const LazyNode*> pending_ancestors(absl::Span<const LazyPtr> targets) {
  absl::flat_hash_set<const LazyNode*> seen;
  std::vector<const LazyNode*> stack;
  for (const LazyPtr& t : targets) stack.push_back(t.get());
  while (!stack.empty()) {
    const LazyNode* node = stack.back();
    stack.pop_back();
    if (node->realized() || !seen.insert(node).second) continue;
    for (const LazyPtr& in : node->inputs) stack.push_back(in.get());
  }
  return seen;
}

// True when `value` can be left pending and computed again later for about the cost of reading
// a stored copy: at most kMaxDeferredNodes pending elementwise or movement nodes (constants
// aside) down to realized values, none reading outside memory, none that autograd keeps and
// none left pending before (so a chain growing from a pending value is cut every other step).
// Reductions, matmuls and indexing are never recomputed.
bool cheap_to_recompute(const LazyNode* value, uint64_t this_realization) {
  absl::flat_hash_set<const LazyNode*> seen;
  std::vector<const LazyNode*> stack = {value};
  while (!stack.empty()) {
    const LazyNode* node = stack.back();
    stack.pop_back();
    if (node->realized() || node->op == ir::Op::constant || !seen.insert(node).second) continue;
    if (node->external || node->saved_for_backward > 0) return false;
    if (node->deferred_by != 0 && node->deferred_by != this_realization) return false;
    if (!ir::has_trait(node->op, ir::kElementwise) && !ir::has_trait(node->op, ir::kMovement))
      return false;
    if (static_cast<int64_t>(seen.size()) > kMaxDeferredNodes) return false;
    for (const LazyPtr& in : node->inputs) stack.push_back(in.get());
  }
  return true;
}

// The targets of one realization: the few a read asks for, then every pending storage content.
using Targets = absl::InlinedVector<LazyPtr, 4>;

void realize_locked(Targets targets, bool reading) {
  PendingState& state = pending_state();
  // Every pending storage content is computed in the same graph: one pass over shared work,
  // and nothing pending can still read a buffer that a later eager write changes. The one
  // exception (realize_reading): contents the targets' graph computes on the way, cheap to
  // compute again, stay pending once; the next realization stores them, so a value that is used
  // again costs one extra computation at most. A value whose graph holds one left pending before
  // is stored, so a chain that keeps growing from a pending value (y = y * a + b, read every
  // step) is stored every other step and realization sees two graph shapes, not a new one
  // each step.
  absl::InlinedVector<std::shared_ptr<Storage>, 8> pending;
  for (auto& weak : state.storages) {
    auto storage = weak.lock();
    if (!storage) continue;
    storage->registered = false;
    if (!storage->value->realized()) pending.push_back(std::move(storage));
  }
  state.storages.clear();
  // Graph nodes per pending value: 1.2 to 2 in training steps (views, constants, inputs, and
  // backward values that are nodes without tensors); 3/2 measured best on the polyfit tutorial
  // (87 ms; 2 gave 91). A graph of a few nodes grows by itself: reserving kilobytes for it
  // costs more (malloc then consolidates its free lists at every realization).
  const size_t recorded = static_cast<size_t>(state.recorded_nodes);
  const size_t size_hint = recorded > 64 ? recorded * 3 / 2 : 0;
  state.recorded_nodes = 0;
  const uint64_t this_realization = ++state.realizations;
  const TargetSet requested(targets);
  absl::flat_hash_set<const LazyNode*> on_the_way;
  // The common step (y = f(y); eval(y)) has nothing pending but its targets: no walk then.
  if (reading && std::any_of(pending.begin(), pending.end(),
                             [&](const auto& p) { return !requested(p->value.get()); }))
    on_the_way = pending_ancestors(targets);
  for (std::shared_ptr<Storage>& storage : pending) {
    LazyNode* value = storage->value.get();
    if (requested(value)) continue;  // a target already
    if (on_the_way.contains(value) && cheap_to_recompute(value, this_realization)) {
      value->deferred_by = this_realization;
      storage->registered = true;
      state.storages.push_back(storage);
      continue;
    }
    targets.push_back(storage->value);
  }

  targets.erase(std::remove_if(targets.begin(), targets.end(),
                               [](const LazyPtr& t) { return t->realized(); }),
                targets.end());
  if (targets.empty()) return;
  auto run_group = [&](absl::Span<const LazyPtr> group) {
    const PendingGraph pending(group, {.size_hint = size_hint});
    if (pending.outputs.empty()) return;
    std::vector<backends::BufferPtr> results =
        run_realization(pending, backends::backend_for(pending.outputs[0]->device), size_hint);
    for (size_t i = 0; i < pending.outputs.size(); ++i) {
      LazyNode* node = pending.outputs[i];
      node->buffer = std::move(results[i]);
      node->op = ir::Op::input;
      node->attrs = ir::InputAttrs{};
      node->inputs.clear();
      node->external = false;  // a fresh buffer that only kiln sees
    }
  };
  // One graph per device: a pending value only reads values of its own device (transfers are
  // realized leaves), so the groups are independent and each runs on its device's backend.
  const Device first_device = targets[0]->device;
  if (std::all_of(targets.begin(), targets.end(),
                  [&](const LazyPtr& t) { return t->device == first_device; })) {
    run_group(targets);  // the usual case: no regrouping
    return;
  }
  std::vector<std::vector<LazyPtr>> groups;
  for (LazyPtr& t : targets) {
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& g) { return g[0]->device == t->device; });
    if (group == groups.end()) {
      groups.push_back({std::move(t)});
    } else {
      group->push_back(std::move(t));
    }
  }
  for (const std::vector<LazyPtr>& group : groups) run_group(group);
}

}  // namespace

void note_pending(const std::shared_ptr<Storage>& storage) {
  PendingState& state = pending_state();
  bool over_cap;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (!storage->registered) {
      storage->registered = true;
      state.storages.push_back(storage);
    }
    over_cap = ++state.recorded_nodes > kPendingNodeCap;
  }
  // A trace records the whole function as one graph; it computes nothing.
  if ((over_cap || sync_mode()) && !tracing_active()) realize_all();
}

void realize(absl::Span<const LazyPtr> targets) {
  fail_if_tracing("item(), tolist(), printing, data_ptr, a boolean mask or nonzero");
  PendingState& state = pending_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  realize_locked(Targets(targets.begin(), targets.end()), /*reading=*/false);
}

void realize_reading(absl::Span<const LazyPtr> targets) {
  fail_if_tracing("item(), tolist(), printing, data_ptr, a boolean mask or nonzero");
  PendingState& state = pending_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  realize_locked(Targets(targets.begin(), targets.end()), /*reading=*/true);
}

void realize_all() { realize({}); }

std::vector<std::shared_ptr<Storage>> pending_storages() {
  PendingState& state = pending_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  std::vector<std::shared_ptr<Storage>> out;
  for (auto& weak : state.storages)
    if (auto storage = weak.lock(); storage && !storage->value->realized()) out.push_back(storage);
  return out;
}

bool anything_pending() {
  PendingState& state = pending_state();
  std::lock_guard<std::mutex> lock(state.mutex);
  return !state.storages.empty();
}

}  // namespace kiln::frontend
