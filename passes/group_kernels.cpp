#include "kiln/passes/group_kernels.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kiln/ir/libm_ops.h"

namespace kiln::passes {
namespace {

using ir::KernelExpr;
using ir::LoopKernel;
using ir::Op;
using ir::ProgramStep;
using ir::ValueId;

// How far back a host is searched: enough for the siblings of one training step (a layer's
// gradient sums, an optimizer's updates), bounded so that long programs stay linear.
constexpr size_t kSearchWindow = 32;

bool is_kernel(const ProgramStep& step) { return step.kind == ProgramStep::Kind::kKernel; }

// Kernels whose values could change with the loop around them: a libm op's result depends on
// whether its loop vectorizes (a vector library call against the scalar one, a few ulp
// apart), which a merged loop may decide differently (pow is one of them). Integer division may
// raise (division by zero) or run on a backend's slow path, which must not take other work
// with it.
bool must_stay_alone(const LoopKernel& k) {
  for (const KernelExpr& e : k.exprs) {
    if (e.kind != KernelExpr::Kind::kOp) continue;
    if (ir::is_libm_op(e.op)) return true;
    if (e.op == Op::div && !is_floating_point(k.exprs[static_cast<size_t>(e.operands[0])].dtype))
      return true;
  }
  return false;
}

bool groupable(const ProgramStep& step) {
  if (!is_kernel(step) || must_stay_alone(step.kernel)) return false;
  const LoopKernel& k = step.kernel;
  return k.kind == LoopKernel::Kind::kElementwise || k.reduce_op == Op::sum ||
         k.reduce_op == Op::prod;
}

DType reduced_dtype(const LoopKernel& k) {
  return k.exprs[static_cast<size_t>(k.stores[0].second)].dtype;
}

// Whether some input of a reduction with kept dims walks the innermost (reduced) dim
// contiguously (or reads nothing). A code generator may pick the order of a point's additions
// by this (the CPU backend, cpu::points_per_block, reduces "column" kernels, where none does,
// a block of points at a time, each in plain order, and "row" kernels in lanes), so kernels
// that differ in it must not merge: a sum would then add in the other order.
bool reads_rows(const ProgramStep& step) {
  const LoopKernel& k = step.kernel;
  if (k.kind != LoopKernel::Kind::kReduction || k.rank == k.reduced_dims) return true;
  bool any_input = false;
  for (size_t a = 0; a < k.args.size(); ++a) {
    if (k.args[a].is_output) continue;
    any_input = true;
    if (step.launch.strides[a][static_cast<size_t>(k.rank - 1)] == 1) return true;
  }
  return !any_input;
}

bool same_space(const ProgramStep& a, const ProgramStep& b) {
  const LoopKernel &x = a.kernel, &y = b.kernel;
  if (x.kind != y.kind || x.rank != y.rank || a.launch.sizes != b.launch.sizes) return false;
  if (x.kind == LoopKernel::Kind::kElementwise) return true;
  return x.reduced_dims == y.reduced_dims && x.reduce_op == y.reduce_op &&
         reduced_dtype(x) == reduced_dtype(y) && reads_rows(a) == reads_rows(b);
}

// Whether argument `a` of `x` and argument `b` of `y` address the same element of the same
// value at every point of their (equal) iteration space.
bool same_element(const ProgramStep& x, size_t a, const ProgramStep& y, size_t b) {
  return x.arg_values[a] == y.arg_values[b] && x.launch.strides[a] == y.launch.strides[b] &&
         x.launch.offsets[a] == y.launch.offsets[b];
}

// Appends argument `a` of `from` to `to`; returns its index there.
int32_t append_arg(ProgramStep& to, const ProgramStep& from, size_t a) {
  to.kernel.args.push_back(from.kernel.args[a]);
  to.kernel.layouts.push_back(from.kernel.layouts[a]);
  to.launch.strides.push_back(from.launch.strides[a]);
  to.launch.offsets.push_back(from.launch.offsets[a]);
  to.arg_values.push_back(from.arg_values[a]);
  return static_cast<int32_t>(to.kernel.args.size()) - 1;
}

// The expression with which elementwise `host` stores the element that argument `arg` of
// `step` reads at the same point, or -1.
int32_t stored_expr(const ProgramStep& host, const ProgramStep& step, size_t arg) {
  if (host.kernel.kind != LoopKernel::Kind::kElementwise) return -1;
  for (const auto& [out, expr] : host.kernel.stores)
    if (same_element(host, static_cast<size_t>(out), step, arg)) return expr;
  return -1;
}

// Whether `step` can run inside `host`, at host's place `position`: every value it reads is
// computed by then (produced_at: each value's step, -1 for inputs) or stored there by the host.
bool can_join(const ProgramStep& host, size_t position, const ProgramStep& step,
              const std::vector<int64_t>& produced_at) {
  if (!is_kernel(host) || !groupable(host) || !same_space(host, step)) return false;
  if (host.kernel.stores.size() + step.kernel.stores.size() > kMaxGroupStores) return false;
  if (host.kernel.args.size() + step.kernel.args.size() > kMaxGroupArgs) return false;
  for (size_t a = 0; a < step.arg_values.size(); ++a) {
    if (step.kernel.args[a].is_output) continue;
    const int64_t at = produced_at[static_cast<size_t>(step.arg_values[a])];
    if (at < static_cast<int64_t>(position)) continue;
    if (at > static_cast<int64_t>(position) || stored_expr(host, step, a) < 0) return false;
  }
  return true;
}

// Appends `step`'s args, exprs and stores to `host`: args it shares with the host (same value,
// strides and offset) and expressions equal to the host's are not repeated, and reads of what
// the host stores at the same point become the host's expression.
void merge_into(ProgramStep& host, const ProgramStep& step) {
  LoopKernel& k = host.kernel;
  const LoopKernel& s = step.kernel;
  std::vector<int32_t> arg_map(s.args.size(), -1), substitute(s.args.size(), -1);
  for (size_t a = 0; a < s.args.size(); ++a) {
    if (!s.args[a].is_output) {
      substitute[a] = stored_expr(host, step, a);
      if (substitute[a] >= 0) continue;
      for (size_t h = 0; h < k.args.size() && arg_map[a] < 0; ++h)
        if (!k.args[h].is_output && same_element(host, h, step, a))
          arg_map[a] = static_cast<int32_t>(h);
      if (arg_map[a] >= 0) continue;
    }
    arg_map[a] = append_arg(host, step, a);
  }
  std::vector<int32_t> expr_map(s.exprs.size(), -1);
  for (size_t i = 0; i < s.exprs.size(); ++i) {
    KernelExpr e = s.exprs[i];
    if (e.kind == KernelExpr::Kind::kLoad) {
      const size_t a = static_cast<size_t>(e.arg);
      if (substitute[a] >= 0) {
        expr_map[i] = substitute[a];
        continue;
      }
      e.arg = arg_map[a];
    }
    for (int32_t& o : e.operands) o = expr_map[static_cast<size_t>(o)];
    const auto same = std::find(k.exprs.begin(), k.exprs.end(), e);
    expr_map[i] = static_cast<int32_t>(same - k.exprs.begin());
    if (same == k.exprs.end()) k.exprs.push_back(std::move(e));
  }
  for (const auto& [arg, expr] : s.stores)
    k.stores.emplace_back(arg_map[static_cast<size_t>(arg)], expr_map[static_cast<size_t>(expr)]);
}

// The values a step computes.
template <class Fn>
void for_each_result(const ProgramStep& step, Fn&& fn) {
  if (!is_kernel(step)) {
    fn(step.node);
    for (const ProgramStep& epilogue : step.epilogue) for_each_result(epilogue, fn);
    return;
  }
  for (size_t a = 0; a < step.arg_values.size(); ++a)
    if (step.kernel.args[a].is_output) fn(step.arg_values[a]);
}

ValueId first_result(const ProgramStep& step) {
  ValueId first = -1;
  for_each_result(step, [&](ValueId v) {
    if (first < 0) first = v;
  });
  return first;
}

// Drops from kernel step `step` every expression no store needs and every argument no
// expression or store uses.
void compact(ProgramStep& step) {
  const LoopKernel& k = step.kernel;
  std::vector<bool> live(k.exprs.size(), false);
  for (const auto& [arg, expr] : k.stores) live[static_cast<size_t>(expr)] = true;
  for (size_t i = k.exprs.size(); i-- > 0;)
    if (live[i])
      for (int32_t o : k.exprs[i].operands) live[static_cast<size_t>(o)] = true;
  std::vector<bool> used(k.args.size(), false);
  for (size_t i = 0; i < k.exprs.size(); ++i)
    if (live[i] && k.exprs[i].kind == KernelExpr::Kind::kLoad)
      used[static_cast<size_t>(k.exprs[i].arg)] = true;
  for (const auto& [arg, expr] : k.stores) used[static_cast<size_t>(arg)] = true;
  std::vector<int32_t> arg_map(k.args.size(), -1), expr_map(k.exprs.size(), -1);
  ProgramStep out = step;
  out.kernel.args.clear();
  out.kernel.layouts.clear();
  out.kernel.exprs.clear();
  out.kernel.stores.clear();
  out.launch.strides.clear();
  out.launch.offsets.clear();
  out.arg_values.clear();
  for (size_t a = 0; a < k.args.size(); ++a)
    if (used[a]) arg_map[a] = append_arg(out, step, a);
  for (size_t i = 0; i < k.exprs.size(); ++i) {
    if (!live[i]) continue;
    KernelExpr e = k.exprs[i];
    if (e.kind == KernelExpr::Kind::kLoad) e.arg = arg_map[static_cast<size_t>(e.arg)];
    for (int32_t& o : e.operands) o = expr_map[static_cast<size_t>(o)];
    expr_map[i] = static_cast<int32_t>(out.kernel.exprs.size());
    out.kernel.exprs.push_back(std::move(e));
  }
  for (const auto& [arg, expr] : k.stores)
    out.kernel.stores.emplace_back(arg_map[static_cast<size_t>(arg)],
                                   expr_map[static_cast<size_t>(expr)]);
  step = std::move(out);
}

void drop_store(ProgramStep& step, ValueId value) {
  std::erase_if(step.kernel.stores, [&](const std::pair<int32_t, int32_t>& store) {
    return step.arg_values[static_cast<size_t>(store.first)] == value;
  });
  compact(step);
}

// The values a step reads (a library step's operands and its epilogue's inputs included).
template <class Fn>
void for_each_read(const ProgramStep& step, Fn&& fn) {
  if (!is_kernel(step)) {
    for (const ir::OperandView& view : step.operands) fn(view.value);
    for (const ProgramStep& epilogue : step.epilogue) for_each_read(epilogue, fn);
    return;
  }
  for (size_t a = 0; a < step.arg_values.size(); ++a)
    if (!step.kernel.args[a].is_output) fn(step.arg_values[a]);
}

// Where `reader` (a kernel step) can compute `value` itself instead of loading it from the
// buffer that elementwise kernel step `producer` fills: it reads the value only where the
// producer stores it at the same point of the same iteration space, and neither kernel has
// an op that must stay alone.
bool can_absorb(const ProgramStep& producer, const ProgramStep& reader, ValueId value) {
  if (!is_kernel(producer) || producer.kernel.kind != LoopKernel::Kind::kElementwise) return false;
  if (!is_kernel(reader) || must_stay_alone(producer.kernel) || must_stay_alone(reader.kernel))
    return false;
  if (producer.kernel.rank != reader.kernel.rank || producer.launch.sizes != reader.launch.sizes)
    return false;
  if (producer.kernel.args.size() + reader.kernel.args.size() > kMaxGroupArgs) return false;
  // The producer's loads must not turn a column reduction into a row one (reads_rows).
  if (!reads_rows(reader)) {
    ProgramStep loads = producer;
    loads.kernel.kind = reader.kernel.kind;
    loads.kernel.reduced_dims = reader.kernel.reduced_dims;
    if (reads_rows(loads)) return false;
  }
  for (size_t a = 0; a < reader.arg_values.size(); ++a)
    if (!reader.kernel.args[a].is_output && reader.arg_values[a] == value &&
        stored_expr(producer, reader, a) < 0)
      return false;
  return true;
}

// `reader` with its loads of what `producer` stores at the same point replaced by the
// producer's expressions.
ProgramStep absorb(const ProgramStep& producer, const ProgramStep& reader) {
  ProgramStep merged = producer;
  merge_into(merged, reader);
  // The producer's stores stay with the producer.
  merged.kernel.stores.erase(
      merged.kernel.stores.begin(),
      merged.kernel.stores.begin() + static_cast<std::ptrdiff_t>(producer.kernel.stores.size()));
  merged.kernel.kind = reader.kernel.kind;
  merged.kernel.reduced_dims = reader.kernel.reduced_dims;
  merged.kernel.reduce_op = reader.kernel.reduce_op;
  compact(merged);
  return merged;
}

// Intermediate values whose only reader, after grouping, is one kernel that reads them point
// for point where their elementwise producer stores them: the reader computes them itself and
// the buffer goes away. Fusion materialized such a value because it has several consumers
// (recomputing it in each would cost too much), and the consumers turned out to share one
// kernel, where the value is computed once per point anyway.
void absorb_producers(const ir::Graph& graph, ir::Program& program) {
  const size_t n = static_cast<size_t>(graph.size());
  const bool explain = program.decisions.size() == n;
  std::vector<bool> is_output(n, false);
  for (ValueId out : graph.outputs()) is_output[static_cast<size_t>(out)] = true;
  // Per value, the arguments of steps that read it: a kernel reading a value at two placements
  // (two arguments) is not a point-for-point reader.
  std::vector<int32_t> readers(n, 0);
  std::vector<int64_t> producer(n, -1);
  for (size_t s = 0; s < program.steps.size(); ++s) {
    for_each_read(program.steps[s], [&](ValueId v) { ++readers[static_cast<size_t>(v)]; });
    for_each_result(program.steps[s], [&](ValueId v) { producer[static_cast<size_t>(v)] = s; });
  }
  std::vector<bool> removed(program.steps.size(), false);
  for (size_t q = 0; q < program.steps.size(); ++q) {
    for (bool changed = true; changed;) {
      changed = false;
      ProgramStep& reader = program.steps[q];
      if (!is_kernel(reader)) break;
      for (size_t a = 0; a < reader.arg_values.size() && !changed; ++a) {
        const ValueId v = reader.arg_values[a];
        const size_t i = static_cast<size_t>(v);
        if (reader.kernel.args[a].is_output || is_output[i] || readers[i] != 1) continue;
        if (producer[i] < 0 || removed[static_cast<size_t>(producer[i])]) continue;
        ProgramStep& from = program.steps[static_cast<size_t>(producer[i])];
        if (!can_absorb(from, reader, v)) continue;
        ProgramStep merged = absorb(from, reader);
        // The producer's inputs are now read here too.
        for_each_read(merged, [&](ValueId w) { ++readers[static_cast<size_t>(w)]; });
        for_each_read(reader, [&](ValueId w) { --readers[static_cast<size_t>(w)]; });
        for_each_read(from, [&](ValueId w) { --readers[static_cast<size_t>(w)]; });
        drop_store(from, v);
        for_each_read(from, [&](ValueId w) { ++readers[static_cast<size_t>(w)]; });
        if (from.kernel.stores.empty()) removed[static_cast<size_t>(producer[i])] = true;
        reader = std::move(merged);
        producer[i] = -1;
        if (explain)
          absl::StrAppend(&program.decisions[i],
                          "; its one reader's kernel computes it, point for point (no buffer)");
        changed = true;
      }
    }
  }
  // Values whose every reader took the producer's expression instead (merge_into's
  // substitution) are not stored at all.
  for (size_t s = 0; s < program.steps.size(); ++s) {
    ProgramStep& step = program.steps[s];
    if (removed[s] || !is_kernel(step)) continue;
    std::vector<ValueId> dead;
    for (size_t a = 0; a < step.arg_values.size(); ++a) {
      const size_t i = static_cast<size_t>(step.arg_values[a]);
      if (step.kernel.args[a].is_output && !is_output[i] && readers[i] == 0)
        dead.push_back(step.arg_values[a]);
    }
    for (ValueId v : dead) {
      drop_store(step, v);
      producer[static_cast<size_t>(v)] = -1;
      if (explain)
        absl::StrAppend(&program.decisions[static_cast<size_t>(v)],
                        "; every reader computes it in the same kernel (no buffer)");
    }
    if (step.kernel.stores.empty()) removed[s] = true;
  }
  std::vector<ProgramStep> kept;
  for (size_t s = 0; s < program.steps.size(); ++s)
    if (!removed[s]) kept.push_back(std::move(program.steps[s]));
  program.steps = std::move(kept);
  std::erase_if(program.materialized, [&](ValueId v) {
    const size_t i = static_cast<size_t>(v);
    return graph.node(v).op != ir::Op::input && !is_output[i] && readers[i] == 0 && producer[i] < 0;
  });
}

}  // namespace

void group_sibling_kernels(const ir::Graph& graph, ir::Program& program) {
  std::vector<int64_t> produced_at(static_cast<size_t>(graph.size()), -1);
  const bool explain = program.decisions.size() == static_cast<size_t>(graph.size());
  std::vector<ProgramStep> steps;
  steps.reserve(program.steps.size());
  for (ProgramStep& step : program.steps) {
    int64_t host = -1;
    if (groupable(step)) {
      int64_t ready = -1;  // the latest step that computes something this one reads
      for (size_t a = 0; a < step.arg_values.size(); ++a)
        if (!step.kernel.args[a].is_output)
          ready = std::max(ready, produced_at[static_cast<size_t>(step.arg_values[a])]);
      const int64_t last = static_cast<int64_t>(steps.size()) - 1;
      const int64_t stop = std::max(ready, last - static_cast<int64_t>(kSearchWindow));
      // Not across a library step: its result (a matmul's, a gather's) is often the largest
      // buffer of the program, and moving a kernel before it would keep the kernel's outputs
      // alive next to it.
      for (int64_t p = last; p >= 0 && p >= stop && host < 0; --p) {
        const ProgramStep& candidate = steps[static_cast<size_t>(p)];
        if (!is_kernel(candidate)) break;
        if (can_join(candidate, static_cast<size_t>(p), step, produced_at)) host = p;
      }
    }
    if (host < 0) {
      for_each_result(step, [&](ValueId v) { produced_at[static_cast<size_t>(v)] = steps.size(); });
      steps.push_back(std::move(step));
      continue;
    }
    ProgramStep& into = steps[static_cast<size_t>(host)];
    const ValueId joined = first_result(into);
    for_each_result(step, [&](ValueId v) {
      produced_at[static_cast<size_t>(v)] = host;
      if (explain)
        absl::StrAppend(&program.decisions[static_cast<size_t>(v)], "; computed in the kernel of %",
                        joined);
    });
    merge_into(into, step);
  }
  program.steps = std::move(steps);
  absorb_producers(graph, program);
}

}  // namespace kiln::passes
