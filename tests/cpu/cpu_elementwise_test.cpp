// The CPU backend against the reference interpreter on elementwise kernels: every op and
// dtype, casts between every pair of dtypes, broadcasts, transposed and strided operands, fused
// float16/bfloat16 chains, and sizes around the vector width.
#include <string>
#include <vector>

#include "cpu/cpu_test_util.h"
#include "gtest/gtest.h"

namespace kiln::backends::cpu::testing {
namespace {

const Shape kShape = {37, 19};  // neither dim a multiple of a vector width

// libm calls (tanh, erf, expm1, log1p, tan) and IEEE operations are exact; the intrinsics that
// LLVM vectorizes through libmvec (or, without it, calls in libm) may differ by a few ulp.
Tolerance tolerance_of(Op op) {
  switch (op) {
    case Op::exp:
    case Op::log:
    case Op::log2:
    case Op::log10:
    case Op::sin:
    case Op::cos:
    case Op::sigmoid:
    case Op::pow:
      return kTranscendental;
    default:
      return {};
  }
}

std::string describe(Op op, DType dtype) {
  return std::string(ir::op_name(op)) + " " + std::string(name(dtype));
}

// op(inputs) on inputs of `dtype` and kShape.
void check_op(Op op, DType dtype, int arity, std::vector<Data> data) {
  Graph g;
  std::vector<ValueId> ids;
  std::vector<BufferPtr> buffers;
  for (int i = 0; i < arity; ++i) {
    ids.push_back(g.add_input(TensorType{dtype, kShape}));
    buffers.push_back(make_data(dtype, numel(kShape), 100 + i, data[static_cast<size_t>(i)]));
  }
  g.set_outputs({add(g, op, ids)});
  expect_matches_interpreter(g, buffers, tolerance_of(op), describe(op, dtype));
}

TEST(CpuElementwise, UnaryOpsEveryDtype) {
  const Op ops[] = {Op::neg,        Op::abs,   Op::sign,  Op::relu,  Op::sqrt,  Op::rsqrt,
                    Op::reciprocal, Op::exp,   Op::expm1, Op::log,   Op::log2,  Op::log10,
                    Op::log1p,      Op::sin,   Op::cos,   Op::tan,   Op::tanh,  Op::sigmoid,
                    Op::erf,        Op::floor, Op::ceil,  Op::round, Op::trunc, Op::logical_not};
  for (Op op : ops) {
    for (DType dtype : kAllDTypes) {
      if (ir::has_trait(op, ir::kFloatOnly) && !is_floating_point(dtype)) continue;
      check_op(op, dtype, 1, {Data::kSpecial});
    }
  }
}

TEST(CpuElementwise, BinaryOpsEveryDtype) {
  const Op ops[] = {Op::add,     Op::sub,     Op::mul, Op::div,         Op::pow,
                    Op::maximum, Op::minimum, Op::eq,  Op::ne,          Op::lt,
                    Op::le,      Op::gt,      Op::ge,  Op::logical_and, Op::logical_or};
  for (Op op : ops) {
    for (DType dtype : kAllDTypes) {
      // Integer division by zero raises; integer pow of a wide exponent is just slow.
      const bool positive = (op == Op::div || op == Op::pow) && !is_floating_point(dtype);
      const Data second = positive ? Data::kPositive : Data::kSpecial;
      check_op(op, dtype, 2, {Data::kSpecial, second});
      // Equal operands, zeros, ties.
      check_op(op, dtype, 2, {Data::kSmallInts, positive ? Data::kPositive : Data::kSmallInts});
    }
  }
}

TEST(CpuElementwise, IntegerDivisionByZeroRaisesLikeTheInterpreter) {
  Graph g;
  const ValueId a = g.add_input(TensorType{int32, {4}});
  const ValueId b = g.add_input(TensorType{int32, {4}});
  g.set_outputs({add(g, Op::div, {a, b})});
  const std::vector<BufferPtr> in = {make_data(int32, 4, 1),
                                     make_data(int32, 4, 2, Data::kSmallInts)};
  std::memset(in[1]->data(), 0, 4);
  CpuBackend cpu(test_cache());
  EXPECT_THROW(cpu.run(g, in), Error);
}

TEST(CpuElementwise, CastsBetweenEveryPairOfDtypes) {
  for (DType from : kAllDTypes) {
    for (DType to : kAllDTypes) {
      Graph g;
      const ValueId x = g.add_input(TensorType{from, kShape});
      g.set_outputs({add(g, Op::cast, {x}, ir::CastAttrs{to})});
      expect_matches_interpreter(g, {make_data(from, numel(kShape), 7)}, {},
                                 std::string(name(from)) + " -> " + std::string(name(to)));
    }
  }
}

TEST(CpuElementwise, WhereEveryDtype) {
  for (DType dtype : kAllDTypes) {
    Graph g;
    const ValueId c = g.add_input(TensorType{boolean, kShape});
    const ValueId a = g.add_input(TensorType{dtype, kShape});
    const ValueId b = g.add_input(TensorType{dtype, kShape});
    g.set_outputs({add(g, Op::where, {c, a, b})});
    const int64_t n = numel(kShape);
    expect_matches_interpreter(
        g, {make_data(boolean, n, 1), make_data(dtype, n, 2), make_data(dtype, n, 3)}, {},
        std::string("where ") + std::string(name(dtype)));
  }
}

TEST(CpuElementwise, LogicalOpsOnMixedDtypes) {
  for (DType a_type : {float32, float16, int8, boolean, float64}) {
    for (DType b_type : {int64, bfloat16, uint8, boolean}) {
      Graph g;
      const ValueId a = g.add_input(TensorType{a_type, kShape});
      const ValueId b = g.add_input(TensorType{b_type, kShape});
      const ValueId both = add(g, Op::logical_and, {a, b});
      const ValueId either = add(g, Op::logical_or, {a, b});
      g.set_outputs({both, either, add(g, Op::logical_not, {a})});
      const int64_t n = numel(kShape);
      expect_matches_interpreter(g, {make_data(a_type, n, 4, Data::kSmallInts),
                                     make_data(b_type, n, 5, Data::kSmallInts)});
    }
  }
}

TEST(CpuElementwise, ConstantsOfEveryDtype) {
  // Constants convert like the interpreter's constant nodes: 300 wraps in int8, 2.7 truncates,
  // NaN and 1e10 saturate in integer dtypes, 0.1 rounds twice on its way to float16.
  const Scalar values[] = {Scalar(300),  Scalar(-2.7),
                           Scalar(0.1),  Scalar(1e10),
                           Scalar(true), Scalar(std::numeric_limits<double>::quiet_NaN()),
                           Scalar(-0.0), Scalar(int64_t{1} << 62)};
  for (DType dtype : kAllDTypes) {
    for (const Scalar& value : values) {
      Graph g;
      const ValueId x = g.add_input(TensorType{dtype, {3, 5}});
      ValueId c = g.add_constant(value, dtype);
      c = add(g, Op::reshape, {c}, ir::ShapeAttrs{{1, 1}});
      c = add(g, Op::expand, {c}, ir::ShapeAttrs{{3, 5}});
      const Op op = dtype == boolean ? Op::logical_or : Op::add;
      g.set_outputs({add(g, op, {x, c}), add(g, Op::where, {add(g, Op::eq, {x, x}), c, x})});
      std::ostringstream what;
      what << "constant " << value << " " << dtype;
      expect_matches_interpreter(g, {make_data(dtype, 15, 9)}, {}, what.str());
    }
  }
}

TEST(CpuElementwise, BroadcastsAreZeroStrides) {
  for (DType dtype : {float32, float16, int16, float64}) {
    Graph g;
    const ValueId col = g.add_input(TensorType{dtype, {5, 1}});
    const ValueId row = g.add_input(TensorType{dtype, {1, 7}});
    const ValueId a = add(g, Op::expand, {col}, ir::ShapeAttrs{{5, 7}});
    const ValueId b = add(g, Op::expand, {row}, ir::ShapeAttrs{{5, 7}});
    ValueId two = g.add_constant(2, dtype);
    two = add(g, Op::expand, {add(g, Op::reshape, {two}, ir::ShapeAttrs{{1, 1}})},
              ir::ShapeAttrs{{5, 7}});
    g.set_outputs({add(g, Op::add, {add(g, Op::mul, {a, two}), b}), add(g, Op::maximum, {b, a})});
    expect_matches_interpreter(g, {make_data(dtype, 5, 1), make_data(dtype, 7, 2)}, {},
                               std::string(name(dtype)));
  }
}

TEST(CpuElementwise, TransposedAndSteppedOperands) {
  for (DType dtype : {float32, bfloat16, int32, uint8}) {
    Graph g;
    const ValueId x = g.add_input(TensorType{dtype, {7, 5, 3}});
    const ValueId y = g.add_input(TensorType{dtype, {3, 12, 7}});
    const ValueId xt = add(g, Op::permute, {x}, ir::PermuteAttrs{{2, 1, 0}});  // [3, 5, 7]
    const ValueId ys = add(g, Op::slice, {y}, ir::SliceAttrs{1, 1, 11, 2});    // [3, 5, 7]
    const ValueId yss = add(g, Op::slice, {ys}, ir::SliceAttrs{2, 0, 7, 1});
    g.set_outputs({add(g, Op::sub, {xt, yss}), add(g, Op::neg, {xt})});
    expect_matches_interpreter(g, {make_data(dtype, 105, 3), make_data(dtype, 252, 4)}, {},
                               std::string(name(dtype)));
  }
}

TEST(CpuElementwise, FusedHalfChainsRoundAfterEveryOp) {
  // (x * 3 + 1) * x - y in float16/bfloat16: each intermediate is rounded to 16 bits, as the
  // node-by-node interpreter stores it, although the kernel keeps everything in registers.
  for (DType dtype : {float16, bfloat16, int8, uint8}) {
    Graph g;
    const Shape shape = {11, 23};
    const ValueId x = g.add_input(TensorType{dtype, shape});
    const ValueId y = g.add_input(TensorType{dtype, shape});
    auto splat = [&](Scalar v) {
      const ValueId c = add(g, Op::reshape, {g.add_constant(v, dtype)}, ir::ShapeAttrs{{1, 1}});
      return add(g, Op::expand, {c}, ir::ShapeAttrs{shape});
    };
    ValueId v = add(g, Op::mul, {x, splat(3)});
    v = add(g, Op::add, {v, splat(1)});
    v = add(g, Op::mul, {v, x});
    v = add(g, Op::sub, {v, y});
    g.set_outputs({v});
    expect_matches_interpreter(g, {make_data(dtype, 253, 5), make_data(dtype, 253, 6)}, {},
                               std::string(name(dtype)));
  }
}

TEST(CpuElementwise, SizesAroundTheVectorWidth) {
  for (int64_t n : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129}) {
    for (DType dtype : {float32, float64, float16, int8, int64}) {
      Graph g;
      const ValueId x = g.add_input(TensorType{dtype, {3, n}});
      const ValueId y = g.add_input(TensorType{dtype, {n}});
      const ValueId yb = add(g, Op::expand, {add(g, Op::reshape, {y}, ir::ShapeAttrs{{1, n}})},
                             ir::ShapeAttrs{{3, n}});
      const ValueId xt = add(g, Op::permute, {add(g, Op::reshape, {x}, ir::ShapeAttrs{{n, 3}})},
                             ir::PermuteAttrs{{1, 0}});
      g.set_outputs({add(g, Op::mul, {x, yb}), add(g, Op::abs, {xt})});
      expect_matches_interpreter(g, {make_data(dtype, 3 * n, 1), make_data(dtype, n, 2)}, {},
                                 "n=" + std::to_string(n) + " " + std::string(name(dtype)));
    }
  }
}

TEST(CpuElementwise, ZeroSizeAndZeroDimTensors) {
  for (const Shape& shape : {Shape{0}, Shape{0, 5}, Shape{4, 0, 3}, Shape{}}) {
    Graph g;
    const ValueId x = g.add_input(TensorType{float32, shape});
    g.set_outputs(
        {add(g, Op::exp, {add(g, Op::neg, {x})}), add(g, Op::cast, {x}, ir::CastAttrs{int8})});
    expect_matches_interpreter(g, {make_data(float32, numel(shape), 3)}, kTranscendental,
                               shape_to_string(shape));
  }
}

}  // namespace
}  // namespace kiln::backends::cpu::testing
