// A small valid graph for every op in the table, built through Graph::add so that inference
// runs. The switch has no default: a new op without a sample is a compile error (-Wswitch),
// and the tests that iterate kNumOps fail if a sample does not verify or round-trip.
#pragma once

#include "absl/status/statusor.h"
#include "kiln/ir/graph.h"

namespace kiln::ir::testing {

inline TensorType ty(DType dtype, Shape shape) { return TensorType{dtype, std::move(shape)}; }

// The graph's single output is a node of `op` (the last node).
inline absl::StatusOr<Graph> sample_graph(Op op) {
  Graph g;
  absl::StatusOr<ValueId> last = absl::InternalError("no node");
  switch (op) {
    case Op::input:
      last = g.add_input(ty(float32, {2, 3}));
      break;
    case Op::constant:
      last = g.add_constant(2.5, float32);
      break;
    case Op::neg:
    case Op::abs:
    case Op::sign:
    case Op::relu:
    case Op::sqrt:
    case Op::rsqrt:
    case Op::reciprocal:
    case Op::exp:
    case Op::expm1:
    case Op::log:
    case Op::log2:
    case Op::log10:
    case Op::log1p:
    case Op::sin:
    case Op::cos:
    case Op::tan:
    case Op::tanh:
    case Op::sigmoid:
    case Op::erf:
    case Op::floor:
    case Op::ceil:
    case Op::round:
    case Op::trunc:
      last = g.add(op, {g.add_input(ty(float32, {2, 3}))}, NoAttrs{});
      break;
    case Op::logical_not:
      last = g.add(op, {g.add_input(ty(boolean, {4}))}, NoAttrs{});
      break;
    case Op::cast:
      last = g.add(op, {g.add_input(ty(int32, {2, 3}))}, CastAttrs{float64});
      break;
    case Op::add:
    case Op::sub:
    case Op::mul:
    case Op::div:
    case Op::pow:
    case Op::maximum:
    case Op::minimum:
    case Op::eq:
    case Op::ne:
    case Op::lt:
    case Op::le:
    case Op::gt:
    case Op::ge: {
      const ValueId a = g.add_input(ty(float32, {2, 3}));
      const ValueId b = g.add_input(ty(float32, {2, 3}));
      last = g.add(op, {a, b}, NoAttrs{});
      break;
    }
    case Op::logical_and:
    case Op::logical_or: {
      const ValueId a = g.add_input(ty(boolean, {3}));
      const ValueId b = g.add_input(ty(boolean, {3}));
      last = g.add(op, {a, b}, NoAttrs{});
      break;
    }
    case Op::where: {
      const ValueId c = g.add_input(ty(boolean, {2, 3}));
      const ValueId a = g.add_input(ty(float64, {2, 3}));
      const ValueId b = g.add_input(ty(float64, {2, 3}));
      last = g.add(op, {c, a, b}, NoAttrs{});
      break;
    }
    case Op::sum:
    case Op::prod:
    case Op::amax:
    case Op::amin:
      last = g.add(op, {g.add_input(ty(float32, {2, 3, 4}))}, ReduceAttrs{{0, 2}, true});
      break;
    case Op::argmax:
    case Op::argmin:
      last = g.add(op, {g.add_input(ty(float32, {2, 3}))}, ReduceAttrs{{1}, false});
      break;
    case Op::reshape:
      last = g.add(op, {g.add_input(ty(float32, {2, 3}))}, ShapeAttrs{{3, 1, 2}});
      break;
    case Op::permute:
      last = g.add(op, {g.add_input(ty(float32, {2, 3, 4}))}, PermuteAttrs{{2, 0, 1}});
      break;
    case Op::expand: {
      // A constant broadcast: reshape to [1, 1], then expand.
      const ValueId c = g.add_constant(-0.0, float32);
      auto r = g.add(Op::reshape, {c}, ShapeAttrs{{1, 1}});
      if (!r.ok()) return r.status();
      last = g.add(op, {*r}, ShapeAttrs{{2, 3}});
      break;
    }
    case Op::slice:
      last = g.add(op, {g.add_input(ty(float32, {2, 7}))}, SliceAttrs{1, 1, 6, 2});
      break;
    case Op::as_strided:
      last = g.add(op, {g.add_input(ty(float32, {2, 3}))}, StridedAttrs{{2, 2}, {3, 1}, 1});
      break;
    case Op::cat: {
      const ValueId a = g.add_input(ty(int64, {2, 3}));
      const ValueId b = g.add_input(ty(int64, {1, 3}));
      const ValueId c = g.add_input(ty(int64, {4, 3}));
      last = g.add(op, {a, b, c}, AxisAttrs{0});
      break;
    }
    case Op::as_strided_scatter: {
      const ValueId base = g.add_input(ty(float32, {2, 3}));
      const ValueId src = g.add_input(ty(float32, {2, 2}));
      last = g.add(op, {base, src}, StridedAttrs{{2, 2}, {3, 1}, 1});
      break;
    }
    case Op::index: {
      const ValueId src = g.add_input(ty(float16, {4, 3}));
      const ValueId idx = g.add_input(ty(int64, {5}));
      last = g.add(op, {src, idx}, AxisAttrs{1});
      break;
    }
    case Op::index_put: {
      const ValueId base = g.add_input(ty(bfloat16, {4, 3}));
      const ValueId values = g.add_input(ty(bfloat16, {5, 3}));
      const ValueId idx = g.add_input(ty(int64, {5}));
      last = g.add(op, {base, values, idx}, IndexPutAttrs{0, true});
      break;
    }
    case Op::matmul: {
      const ValueId a = g.add_input(ty(float32, {5, 2, 3}));
      const ValueId b = g.add_input(ty(float32, {5, 3, 4}));
      last = g.add(op, {a, b}, NoAttrs{});
      break;
    }
  }
  if (!last.ok()) return last.status();
  g.set_outputs({*last});
  return g;
}

}  // namespace kiln::ir::testing
