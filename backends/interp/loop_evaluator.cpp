#include "kiln/backends/interp/loop_evaluator.h"

#include "kiln/backends/interp/interpreter.h"
#include "kiln/passes/lower_program.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/strided.h"

namespace kiln::backends::interp {
namespace {

// Elements an argument's launch can reach: the extent of its buffer that the kernel touches.
int64_t reach(const ir::KernelLaunch& launch, size_t arg) {
  int64_t last = launch.offsets[arg];
  for (size_t d = 0; d < launch.sizes.size(); ++d) {
    if (launch.sizes[d] == 0) return 0;
    last += (launch.sizes[d] - 1) * launch.strides[arg][d];
  }
  return last + 1;
}

ir::ValueId must(absl::StatusOr<ir::ValueId> id) {
  if (!id.ok()) throw Error("loop evaluator: " + std::string(id.status().message()));
  return *id;
}

}  // namespace

void LoopEvaluator::run(const ir::LoopKernel& k, const ir::KernelLaunch& launch,
                        absl::Span<void* const> data) {
  const Shape& sizes = launch.sizes;
  ir::Graph g;
  std::vector<BufferPtr> bound;
  std::vector<ir::ValueId> expr_value(k.exprs.size());
  for (size_t i = 0; i < k.exprs.size(); ++i) {
    const ir::KernelExpr& e = k.exprs[i];
    switch (e.kind) {
      case ir::KernelExpr::Kind::kLoad: {
        const size_t a = static_cast<size_t>(e.arg);
        const int64_t n = reach(launch, a);
        const ir::ValueId flat = g.add_input(ir::TensorType{e.dtype, {n}});
        bound.push_back(
            runtime::Buffer::borrow(data[a], static_cast<size_t>(n) * itemsize(e.dtype)));
        expr_value[i] = must(g.add(ir::Op::as_strided, {flat},
                                   ir::StridedAttrs{sizes, launch.strides[a], launch.offsets[a]}));
        break;
      }
      case ir::KernelExpr::Kind::kConstant: {
        ir::ValueId c = g.add_constant(e.constant, e.dtype);
        c = must(g.add(ir::Op::reshape, {c}, ir::ShapeAttrs{Shape(sizes.size(), 1)}));
        expr_value[i] = must(g.add(ir::Op::expand, {c}, ir::ShapeAttrs{sizes}));
        break;
      }
      case ir::KernelExpr::Kind::kOp: {
        absl::InlinedVector<ir::ValueId, 3> operands;
        for (int32_t o : e.operands) operands.push_back(expr_value[o]);
        ir::Attrs attrs =
            e.op == ir::Op::cast ? ir::Attrs(ir::CastAttrs{e.dtype}) : ir::Attrs(ir::NoAttrs{});
        expr_value[i] = must(g.add(e.op, operands, attrs));
        break;
      }
    }
  }
  std::vector<ir::ValueId> outputs;
  const int32_t kept = k.rank - (k.kind == ir::LoopKernel::Kind::kReduction ? k.reduced_dims : 0);
  for (const auto& [arg, expr] : k.stores) {
    ir::ValueId v = expr_value[expr];
    if (k.kind == ir::LoopKernel::Kind::kReduction) {
      Shape axes;
      for (int32_t d = kept; d < k.rank; ++d) axes.push_back(d);
      v = must(g.add(k.reduce_op, {v}, ir::ReduceAttrs{axes, false}));
    }
    outputs.push_back(v);
  }
  g.set_outputs(outputs);
  static Interpreter interpreter;
  std::vector<BufferPtr> results = interpreter.run(g, bound);
  const Shape kept_sizes(sizes.begin(), sizes.begin() + kept);
  for (size_t s = 0; s < k.stores.size(); ++s) {
    const size_t arg = static_cast<size_t>(k.stores[s].first);
    const Shape kept_strides(launch.strides[arg].begin(), launch.strides[arg].begin() + kept);
    runtime::copy_into_strided(data[arg], kept_sizes, kept_strides, launch.offsets[arg],
                               results[s]->data(), itemsize(k.args[arg].dtype));
  }
}

std::vector<BufferPtr> LoopBackend::run(const ir::Graph& graph,
                                        absl::Span<const BufferPtr> inputs) {
  const ir::Program program = passes::lower_program(graph);
  return run_program(graph, program, inputs, evaluator_);
}

std::unique_ptr<Executable> LoopBackend::compile(ir::Graph graph) {
  return compile_program(std::move(graph), evaluator_);
}

}  // namespace kiln::backends::interp
