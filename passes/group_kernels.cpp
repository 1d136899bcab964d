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
// apart), which a merged loop may decide differently. Integer division and power may raise
// (division by zero) or run on a backend's slow path, which must not take other work with it.
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

bool same_space(const ProgramStep& a, const ProgramStep& b) {
  const LoopKernel &x = a.kernel, &y = b.kernel;
  if (x.kind != y.kind || x.rank != y.rank || a.launch.sizes != b.launch.sizes) return false;
  if (x.kind == LoopKernel::Kind::kElementwise) return true;
  return x.reduced_dims == y.reduced_dims && x.reduce_op == y.reduce_op &&
         reduced_dtype(x) == reduced_dtype(y);
}

// The expression with which elementwise `host` stores `value` at the element that argument
// `arg` of `step` reads at the same point, or -1.
int32_t stored_expr(const ProgramStep& host, const ProgramStep& step, size_t arg) {
  if (host.kernel.kind != LoopKernel::Kind::kElementwise) return -1;
  for (const auto& [out, expr] : host.kernel.stores) {
    const size_t o = static_cast<size_t>(out);
    if (host.arg_values[o] == step.arg_values[arg] &&
        host.launch.strides[o] == step.launch.strides[arg] &&
        host.launch.offsets[o] == step.launch.offsets[arg])
      return expr;
  }
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
        if (!k.args[h].is_output && host.arg_values[h] == step.arg_values[a] &&
            host.launch.strides[h] == step.launch.strides[a] &&
            host.launch.offsets[h] == step.launch.offsets[a])
          arg_map[a] = static_cast<int32_t>(h);
      if (arg_map[a] >= 0) continue;
    }
    arg_map[a] = static_cast<int32_t>(k.args.size());
    k.args.push_back(s.args[a]);
    k.layouts.push_back(s.layouts[a]);
    host.launch.strides.push_back(step.launch.strides[a]);
    host.launch.offsets.push_back(step.launch.offsets[a]);
    host.arg_values.push_back(step.arg_values[a]);
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
}

}  // namespace kiln::passes
