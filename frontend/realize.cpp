#include "kiln/frontend/realize.h"

#include <algorithm>
#include <atomic>

#include <cstdlib>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "kiln/backends/backend.h"
#include "kiln/frontend/compile/trace_state.h"
#include "kiln/frontend/node_map.h"
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

// LazyNode -> graph id while a graph is built, stamped into the nodes (LazyNode::walk). Every
// walk takes a fresh number, so stamps of earlier walks never match.
class NodeIds {
 public:
  NodeIds() : walk_(next_walk.fetch_add(1, std::memory_order_relaxed) + 1) {}
  bool contains(const LazyNode* node) const { return node->walk == walk_; }
  ir::ValueId at(const LazyNode* node) const {
    if (node->walk != walk_)
      throw Error("internal error: build_graph reached a node it did not visit");
    return node->walk_id;
  }
  void emplace(LazyNode* node, ir::ValueId id) {
    node->walk = walk_;
    node->walk_id = id;
  }

 private:
  static inline std::atomic<uint64_t> next_walk{0};
  uint64_t walk_;
};

// Membership in a list of targets (a copy: the list may grow after).
class TargetSet {
 public:
  explicit TargetSet(absl::Span<const LazyPtr> targets) {
    for (const LazyPtr& t : targets) nodes_.emplace(t.get(), true);
  }
  bool operator()(const LazyNode* node) const { return nodes_.contains(node); }

 private:
  NodeMap<bool> nodes_;
};

}  // namespace

BuiltGraph build_graph(absl::Span<const LazyPtr> targets, GraphBuildOptions options) {
  BuiltGraph built;
  // Room up front: most graphs are one step of eager code, a few nodes, which would otherwise
  // grow the node list two or three times.
  constexpr size_t kFew = 4;
  built.graph.reserve(std::max(options.size_hint, kFew));
  NodeIds ids;
  std::vector<LazyNode*> kept;  // pending values that autograd keeps for the backward pass
  // A reshape to the shape it already has (autograd's read markers, a second storage's copy
  // of a value) adds nothing to the graph: it takes its operand's id, unless it is a target,
  // which needs a graph output of its own.
  TargetSet is_target(targets);
  // Iterative post-order walk: (node, next operand to visit).
  absl::InlinedVector<std::pair<LazyNode*, size_t>, 16> stack;
  for (const LazyPtr& target : targets) {
    if (ids.contains(target.get())) continue;
    stack.emplace_back(target.get(), 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        LazyNode* operand = node->inputs[next++].get();
        if (!ids.contains(operand)) stack.emplace_back(operand, 0);
        continue;
      }
      LazyNode* done = node;
      stack.pop_back();
      if (ids.contains(done)) continue;
      ir::ValueId id;
      if (done->realized()) {
        id = built.graph.add_input(done->type);
        built.inputs.push_back(done->buffer);
        built.input_nodes.push_back(done);
      } else if (done->op == ir::Op::constant) {
        id = built.graph.add_constant(std::get<ir::ConstantAttrs>(done->attrs).value,
                                      done->type.dtype);
      } else if (done->op == ir::Op::reshape && done->inputs[0]->type.shape == done->type.shape &&
                 !is_target(done)) {
        id = ids.at(done->inputs[0].get());
      } else {
        ir::Node n{done->op, done->type, {}, done->attrs};
        for (const LazyPtr& in : done->inputs) n.inputs.push_back(ids.at(in.get()));
        id = built.graph.add_node(std::move(n));
        if (done->saved_for_backward > 0 && options.keep_saved_values) kept.push_back(done);
      }
      ids.emplace(done, id);
    }
  }
  // Each node is output once. Node ids are dense, so a bit per node finds repeats; the usual
  // few outputs are scanned instead, which allocates nothing.
  std::vector<ir::ValueId> outputs;
  outputs.reserve(targets.size());
  constexpr size_t kScannedOutputs = 16;
  const bool scan = targets.size() + kept.size() <= kScannedOutputs;
  std::vector<bool> is_output(scan ? 0 : static_cast<size_t>(built.graph.size()), false);
  auto add_output = [&](LazyNode* node) {
    const ir::ValueId id = ids.at(node);
    if (scan ? std::find(outputs.begin(), outputs.end(), id) != outputs.end()
             : is_output[static_cast<size_t>(id)])
      return;
    if (!scan) is_output[static_cast<size_t>(id)] = true;
    outputs.push_back(id);
    built.outputs.push_back(node);
  };
  for (const LazyPtr& target : targets)
    if (!target->realized() || options.realized_outputs) add_output(target.get());
  // Values that autograd keeps for the backward pass and that this graph computes anyway (in a
  // buffer: matmul and reduction results) are kept, so the backward pass need not redo them.
  for (LazyNode* node : kept) add_output(node);
  built.graph.set_outputs(std::move(outputs));
  return built;
}

namespace {

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
    if (on_the_way.contains(value) && !requested(value) &&
        cheap_to_recompute(value, this_realization)) {
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
    BuiltGraph built = build_graph(group, {.size_hint = size_hint});
    if (built.outputs.empty()) return;
    std::vector<backends::BufferPtr> results = run_realization(
        std::move(built.graph), backends::backend_for(built.outputs[0]->device), built.inputs);
    for (size_t i = 0; i < built.outputs.size(); ++i) {
      LazyNode* node = built.outputs[i];
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
