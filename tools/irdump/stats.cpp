#include "irdump/stats.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/program_text.h"

namespace kiln::irdump {
namespace {

// Counts saturate at INT64_MAX: a verified shape's element count fits in int64, but its bytes
// or FLOPs may not, and a dump must not overflow (undefined behaviour) on a hostile file.
int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}
int64_t sat_add(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

int64_t value_bytes(const ir::Graph& graph, ir::ValueId id) {
  if (id < 0 || id >= graph.size()) return 0;
  const ir::TensorType& t = graph.node(id).type;
  return sat_mul(numel(t.shape), static_cast<int64_t>(itemsize(t.dtype)));
}

// The bytes of the distinct buffers among `reads` and `writes`. Constants that are read have
// no buffer (they are inlined); a constant written (a constant graph output) has one.
int64_t buffer_bytes(const ir::Graph& graph, std::vector<ir::ValueId> reads,
                     const std::vector<ir::ValueId>& writes) {
  std::vector<ir::ValueId> values;
  for (ir::ValueId id : reads)
    if (id >= 0 && id < graph.size() && graph.node(id).op != ir::Op::constant) values.push_back(id);
  values.insert(values.end(), writes.begin(), writes.end());
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  int64_t bytes = 0;
  for (ir::ValueId id : values) bytes = sat_add(bytes, value_bytes(graph, id));
  return bytes;
}

int64_t product(const Shape& sizes) {
  int64_t n = 1;
  for (int64_t s : sizes) n = sat_mul(n, s);
  return n;
}

// `skip`: a value whose reads are not counted (an epilogue's matmul result).
StepStats kernel_stats(const ir::Graph& graph, const ir::ProgramStep& step, ir::ValueId skip) {
  StepStats s;
  s.what = ir::kernel_step_summary(step);
  s.points = product(step.launch.sizes);
  int64_t ops = 0;
  for (const ir::KernelExpr& e : step.kernel.exprs) ops += e.kind == ir::KernelExpr::Kind::kOp;
  s.flops = sat_mul(ops, s.points);
  if (step.kernel.kind == ir::LoopKernel::Kind::kReduction) s.flops = sat_add(s.flops, s.points);
  std::vector<ir::ValueId> reads, writes;
  for (size_t a = 0; a < step.arg_values.size() && a < step.kernel.args.size(); ++a) {
    if (step.kernel.args[a].is_output)
      writes.push_back(step.arg_values[a]);
    else if (step.arg_values[a] != skip)
      reads.push_back(step.arg_values[a]);
  }
  s.bytes = buffer_bytes(graph, std::move(reads), writes);
  return s;
}

StepStats library_stats(const ir::Graph& graph, const ir::ProgramStep& step) {
  StepStats s;
  const ir::Node& node = graph.node(step.node);
  s.what = absl::StrCat("library ", sv(ir::op_name(node.op)), " -> %", step.node);
  // Operands are read in place through views of their buffers (OperandView::value).
  std::vector<ir::ValueId> reads;
  if (step.operands.size() == node.inputs.size()) {
    for (const ir::OperandView& view : step.operands) reads.push_back(view.value);
  } else {
    reads.assign(node.inputs.begin(), node.inputs.end());
  }
  s.bytes = buffer_bytes(graph, std::move(reads), {step.node});
  if (node.op == ir::Op::matmul && !node.inputs.empty()) {
    // c[..., m, n] = a[..., m, k] @ b[..., k, n]: a multiply and an add per (c element, k).
    const Shape& a = graph.node(node.inputs[0]).type.shape;
    const int64_t k = a.empty() ? 1 : a.back();
    s.flops = sat_mul(sat_mul(2, numel(node.type.shape)), k);
  }
  return s;
}

}  // namespace

ProgramStats compute_stats(const ir::Graph& graph, const ir::Program& program) {
  ProgramStats stats;
  for (const ir::ProgramStep& step : program.steps) {
    if (step.kind == ir::ProgramStep::Kind::kKernel) {
      ++stats.kernels;
      stats.steps.push_back(kernel_stats(graph, step, -1));
      continue;
    }
    ++stats.library_steps;
    stats.steps.push_back(library_stats(graph, step));
    for (const ir::ProgramStep& epilogue : step.epilogue) {
      ++stats.epilogues;
      StepStats e = kernel_stats(graph, epilogue, step.node);
      e.what = absl::StrCat("epilogue ", e.what);
      stats.steps.push_back(std::move(e));
    }
  }
  for (const StepStats& s : stats.steps) {
    stats.bytes_moved = sat_add(stats.bytes_moved, s.bytes);
    stats.flops = sat_add(stats.flops, s.flops);
  }
  const std::vector<ir::ValueId>& outputs = graph.outputs();
  for (ir::ValueId id : program.materialized) {
    BufferStats b;
    b.value = id;
    b.bytes = value_bytes(graph, id);
    if (std::find(outputs.begin(), outputs.end(), id) != outputs.end())
      b.role = "output";
    else if (id >= 0 && id < graph.size() && graph.node(id).op == ir::Op::input)
      b.role = "input";
    else
      b.role = "intermediate";
    stats.buffer_bytes = sat_add(stats.buffer_bytes, b.bytes);
    stats.buffers.push_back(std::move(b));
  }
  return stats;
}

std::string format_stats(const ir::Graph& graph, const ProgramStats& stats) {
  std::string out = "// stats\n";
  absl::StrAppend(&out, "kernels: ", stats.kernels, "\n");
  absl::StrAppend(&out, "matmul epilogues: ", stats.epilogues, "\n");
  absl::StrAppend(&out, "library steps: ", stats.library_steps, "\n");
  absl::StrAppend(&out, "bytes moved: ", stats.bytes_moved, "\n");
  absl::StrAppend(&out, "flops: ", stats.flops, "\n");
  absl::StrAppend(&out, "materialized buffers: ", stats.buffers.size(), " (", stats.buffer_bytes,
                  " bytes)\n");
  for (const StepStats& s : stats.steps) {
    absl::StrAppend(&out, "  ", s.what, ":");
    if (s.points > 0) absl::StrAppend(&out, " ", s.points, " points,");
    absl::StrAppend(&out, " ", s.bytes, " bytes, ", s.flops, " flops\n");
  }
  for (const BufferStats& b : stats.buffers)
    absl::StrAppend(&out, "  buffer %", b.value, " ", ir::to_string(graph.node(b.value).type), ": ",
                    b.bytes, " bytes (", b.role, ")\n");
  return out;
}

}  // namespace kiln::irdump
