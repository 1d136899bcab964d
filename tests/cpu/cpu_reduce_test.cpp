// The CPU backend against the reference interpreter on reduction kernels: every reduction op
// over inner, outer, middle, several and all axes, with and without keepdim, in every dtype
// class, with fused prologues, transposed inputs, empty extents and sizes around the vector
// width and the thread-pool chunking.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "cpu/cpu_test_util.h"
#include "gtest/gtest.h"
#include "kiln/backends/cpu/split_reduction.h"
#include "kiln/passes/fusion.h"
#include "kiln/passes/lower_loops.h"
#include "kiln/runtime/thread_pool.h"

namespace kiln::backends::cpu::testing {
namespace {

const Op kReductions[] = {Op::sum, Op::prod, Op::amax, Op::amin, Op::argmax, Op::argmin};

Tolerance tolerance_of(Op op, DType dtype) {
  return op == Op::sum && is_floating_point(dtype) ? kFloatSum : Tolerance{};
}

std::string describe(Op op, DType dtype, const Shape& shape, const Shape& axes, bool keepdim) {
  return std::string(ir::op_name(op)) + " " + std::string(name(dtype)) + " of " +
         shape_to_string(shape) + " over " + shape_to_string(axes) + (keepdim ? " keepdim" : "");
}

void check_reduction(Op op, DType dtype, const Shape& shape, const Shape& axes, bool keepdim,
                     Data data, uint32_t seed = 11) {
  // Floating sums of values that cancel catastrophically (1e30 - 3e9 - 1e30) depend on the
  // order of additions, which differs from the interpreter's pairwise tree by design.
  if (op == Op::sum && is_floating_point(dtype) && data == Data::kSpecial) data = Data::kModerate;
  Graph g;
  const ValueId x = g.add_input(TensorType{dtype, shape});
  g.set_outputs({add(g, op, {x}, ir::ReduceAttrs{axes, keepdim})});
  expect_matches_interpreter(g, {make_data(dtype, numel(shape), seed, data)},
                             tolerance_of(op, dtype), describe(op, dtype, shape, axes, keepdim));
}

TEST(CpuReduce, EveryOpAxisAndDtype) {
  const Shape shape = {6, 5, 7};
  const std::vector<Shape> axes_sets = {{2}, {0}, {1}, {0, 2}, {1, 2}, {0, 1, 2}};
  const DType dtypes[] = {float32, float64, float16, bfloat16, int32, int8, uint8, int64, boolean};
  for (Op op : kReductions) {
    for (DType dtype : dtypes) {
      for (const Shape& axes : axes_sets) {
        const bool arg = op == Op::argmax || op == Op::argmin;
        if (arg && axes.size() != 1) continue;
        for (bool keepdim : {false, true}) {
          check_reduction(op, dtype, shape, axes, keepdim, Data::kSpecial);
          if (op != Op::sum && op != Op::prod)  // ties: the first index must win
            check_reduction(op, dtype, shape, axes, keepdim, Data::kSmallInts);
        }
      }
    }
  }
}

TEST(CpuReduce, FusedPrologueAndTransposedInput) {
  for (Op op : kReductions) {
    for (DType dtype : {float32, float16, int16}) {
      Graph g;
      const ValueId x = g.add_input(TensorType{dtype, {9, 4, 13}});
      const ValueId t = add(g, Op::permute, {x}, ir::PermuteAttrs{{2, 0, 1}});  // [13, 9, 4]
      const ValueId v = add(g, Op::mul, {add(g, Op::abs, {t}), t});
      const Shape axes = op == Op::argmax || op == Op::argmin ? Shape{1} : Shape{0, 2};
      g.set_outputs({add(g, op, {v}, ir::ReduceAttrs{axes, false})});
      expect_matches_interpreter(g, {make_data(dtype, 9 * 4 * 13, 3, Data::kModerate)},
                                 tolerance_of(op, dtype),
                                 describe(op, dtype, {13, 9, 4}, axes, false));
    }
  }
}

TEST(CpuReduce, NaNIsTheExtremeAndTheFirstNaNWins) {
  Graph g;
  const ValueId x = g.add_input(TensorType{float32, {2, 5}});
  const ir::ReduceAttrs axis1{{1}, false};
  g.set_outputs({add(g, Op::amax, {x}, axis1), add(g, Op::amin, {x}, axis1),
                 add(g, Op::argmax, {x}, axis1), add(g, Op::argmin, {x}, axis1)});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> values = {1, nan, 3, nan, -4, -0.0f, 0.0f, -0.0f, 2, 2};
  BufferPtr in = runtime::Buffer::allocate(values.size() * sizeof(float));
  std::memcpy(in->data(), values.data(), values.size() * sizeof(float));
  expect_matches_interpreter(g, {in});
  CpuBackend cpu(test_cache());
  const std::vector<BufferPtr> out = cpu.run(g, {in});
  EXPECT_EQ(out[2]->as<int64_t>()[0], 1);             // the first NaN
  EXPECT_EQ(out[2]->as<int64_t>()[1], 3);             // 2 first at index 3
  EXPECT_TRUE(std::signbit(out[1]->as<float>()[1]));  // -0.0 comes first among the zeros
}

// Rows of 32 elements or more scan in 16 interleaved lanes (element j in lane j % 16); the
// lanes' combine must give the sequential scan's answer where lane order and element order
// disagree.
TEST(CpuReduce, ExtremesInLanesGiveTheSequentialAnswer) {
  constexpr int64_t n = 16 * 3 + 5;  // three whole chunks and a tail of 5
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Row {
    const char* what;
    std::vector<std::pair<int64_t, float>> set;  // over a row of -1s
    int64_t argmax, argmin;
  };
  const std::vector<Row> rows = {
      // The max at 18 (lane 2) and 33 (lane 1): lane 1 comes first, element 18 does.
      {"tie across lanes", {{33, 5}, {18, 5}, {40, -7}, {9, -7}}, 18, 9},
      {"first NaN in a later lane", {{34, nan}, {19, nan}, {3, 9}}, 19, 19},
      // +0 at 3 (lane 3) before -0 at 20 (lane 4): the first zero is the answer.
      {"signed zeros", {{20, -0.0f}, {3, 0.0f}, {50, -2}}, 3, 50},
      {"extreme in the tail", {{50, 8}, {51, -8}}, 50, 51},
      {"all -inf", {}, 0, 0},
  };
  Graph g;
  const ValueId x = g.add_input(TensorType{float32, {static_cast<int64_t>(rows.size()), n}});
  const ir::ReduceAttrs axis1{{1}, false};
  g.set_outputs({add(g, Op::amax, {x}, axis1), add(g, Op::amin, {x}, axis1),
                 add(g, Op::argmax, {x}, axis1), add(g, Op::argmin, {x}, axis1)});
  BufferPtr in = runtime::Buffer::allocate(rows.size() * n * sizeof(float));
  float* data = in->as<float>();
  for (size_t r = 0; r < rows.size(); ++r) {
    const bool all_inf = rows[r].set.empty();
    for (int64_t j = 0; j < n; ++j) data[r * n + j] = all_inf ? -inf : -1.0f;
    for (const auto& [j, v] : rows[r].set) data[r * n + j] = v;
  }
  expect_matches_interpreter(g, {in});
  CpuBackend cpu(test_cache());
  const std::vector<BufferPtr> out = cpu.run(g, {in});
  for (size_t r = 0; r < rows.size(); ++r) {
    SCOPED_TRACE(rows[r].what);
    EXPECT_EQ(out[2]->as<int64_t>()[r], rows[r].argmax);
    EXPECT_EQ(out[3]->as<int64_t>()[r], rows[r].argmin);
  }
  EXPECT_FALSE(std::signbit(out[0]->as<float>()[2]));  // amax is the first zero, +0
  // Several reduced dims: the lanes carry across rows, and the tail's lanes too.
  for (DType dtype : {float32, float16, int32, int8}) {
    check_reduction(Op::amax, dtype, {3, 4, n}, {1, 2}, false, Data::kSmallInts, 21);
    check_reduction(Op::amin, dtype, {2, 5, 37}, {0, 2}, true, Data::kSpecial, 22);
    check_reduction(Op::argmax, dtype, {4, 3 * n}, {1}, false, Data::kSmallInts, 23);
  }
}

TEST(CpuReduce, EmptyReducedExtentGivesTheIdentity) {
  for (DType dtype : {float32, float16, int32, boolean}) {
    for (Op op : {Op::sum, Op::prod}) {
      check_reduction(op, dtype, {0, 5}, {0}, false, Data::kSpecial);
      check_reduction(op, dtype, {3, 0, 4}, {1}, true, Data::kSpecial);
      check_reduction(op, dtype, {3, 0}, {0, 1}, false, Data::kSpecial);
    }
    for (Op op : kReductions) check_reduction(op, dtype, {0, 5}, {1}, false, Data::kSpecial);
  }
}

TEST(CpuReduce, ZeroDimInput) {
  for (Op op : kReductions) {
    check_reduction(op, float32, {}, {0}, false, Data::kSpecial);
    check_reduction(op, int16, {}, {0}, true, Data::kSpecial);
  }
}

TEST(CpuReduce, SizesAroundTheVectorWidth) {
  for (int64_t n : {1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 129}) {
    for (DType dtype : {float32, float64, float16, int32, int8}) {
      check_reduction(Op::sum, dtype, {3, n}, {1}, false, Data::kSpecial, 5);
      check_reduction(Op::sum, dtype, {n, 3}, {0}, false, Data::kSpecial, 5);
      check_reduction(Op::amax, dtype, {3, n}, {1}, false, Data::kSpecial, 5);
      check_reduction(Op::argmin, dtype, {3, n}, {1}, false, Data::kSmallInts, 5);
    }
  }
}

TEST(CpuReduce, ThreadChunkBoundaries) {
  ThreadCount threads(4);
  // Around 32K elements of work per chunk: kept extents that split into several chunks.
  for (const Shape& shape :
       {Shape{32767, 1}, Shape{32769, 2}, Shape{1000, 33}, Shape{9, 70001}, Shape{70001, 3}}) {
    check_reduction(Op::sum, float32, shape, {1}, false, Data::kSpecial, 2);
    check_reduction(Op::argmax, int32, shape, {1}, true, Data::kSmallInts, 2);
    check_reduction(Op::prod, int64, shape, {0}, false, Data::kSmallInts, 2);
  }
}

TEST(CpuReduce, ResultsDoNotDependOnTheThreadCount) {
  Graph g;
  const Shape shape = {300, 3001};
  const ValueId x = g.add_input(TensorType{float32, shape});
  g.set_outputs({add(g, Op::sum, {x}, ir::ReduceAttrs{{1}, false}),
                 add(g, Op::sum, {x}, ir::ReduceAttrs{{0, 1}, false})});
  const BufferPtr in = make_data(float32, numel(shape), 8);
  CpuBackend cpu(test_cache());
  std::vector<BufferPtr> one, four;
  {
    ThreadCount threads(1);
    one = cpu.run(g, {in});
  }
  {
    ThreadCount threads(4);
    four = cpu.run(g, {in});
  }
  for (size_t o = 0; o < one.size(); ++o)
    EXPECT_EQ(std::memcmp(one[o]->data(), four[o]->data(), one[o]->nbytes()), 0) << "output " << o;
}

TEST(CpuReduce, LongReductionsOfFewPointsSplitAcrossThreads) {
  ThreadCount threads(4);
  // One or a few kept points over a long extent: each point's range is cut into pieces whose
  // states combine in order (the first NaN, the first index of ties, wrapping integers).
  const std::vector<std::pair<Shape, Shape>> cases = {{{200000}, {0}},
                                                      {{3, 100003}, {1}},
                                                      {{70001, 2}, {0}},
                                                      {{5, 300, 401}, {1, 2}},
                                                      {{2, 257, 3, 301}, {0, 1, 3}}};
  for (const auto& [shape, axes] : cases) {
    for (DType dtype : {float32, float16, bfloat16, float64, int32, int8, int64, boolean}) {
      for (Op op : kReductions) {
        if ((op == Op::argmax || op == Op::argmin) && axes.size() != 1) continue;
        if (op == Op::prod && is_floating_point(dtype)) continue;  // overflows to inf/0 anyway
        check_reduction(op, dtype, shape, axes, false, Data::kSpecial, 13);
        if (op != Op::sum && op != Op::prod)
          check_reduction(op, dtype, shape, axes, false, Data::kSmallInts, 13);
      }
    }
  }
  // A floating product never splits (its sequential double product would round differently).
  check_reduction(Op::prod, float32, {200000}, {0}, false, Data::kPositive, 13);
}

TEST(CpuReduce, SplitOnlyLongReductionsOfFewPoints) {
  auto ranges = [](const Shape& shape, const Shape& axes, Op op = Op::sum, DType dtype = float32) {
    Graph g;
    const ValueId x = g.add_input(TensorType{dtype, shape});
    g.set_outputs({add(g, op, {x}, ir::ReduceAttrs{axes, false})});
    const ir::Program p = passes::lower_to_loops(g, passes::plan_fusion(g));
    return split_count(p.steps[0].kernel, p.steps[0].launch);
  };
  EXPECT_EQ(ranges({1 << 24}, {0}), 64);
  EXPECT_EQ(ranges({200000}, {0}), 6);
  EXPECT_EQ(ranges({2, 1 << 20}, {1}), 32);
  EXPECT_EQ(ranges({60000}, {0}), 1);        // short
  EXPECT_EQ(ranges({64, 1 << 20}, {1}), 1);  // enough points
  EXPECT_EQ(ranges({1 << 20}, {0}, Op::prod), 1);
  EXPECT_EQ(ranges({1 << 20}, {0}, Op::prod, int32), 32);
}

TEST(CpuReduce, ArangeSumIsExactInFloat32) {
  // (arange(1e6) / 1e6).sum() in float32: a float accumulator would drift far from 499999.5.
  constexpr int64_t n = 1000000;
  Graph g;
  const ValueId x = g.add_input(TensorType{float32, {n}});
  const ValueId c =
      add(g, Op::expand, {add(g, Op::reshape, {g.add_constant(1e6, float32)}, ir::ShapeAttrs{{1}})},
          ir::ShapeAttrs{{n}});
  g.set_outputs({add(g, Op::sum, {add(g, Op::div, {x, c})}, ir::ReduceAttrs{{0}, false})});
  BufferPtr in = runtime::Buffer::allocate(n * sizeof(float));
  for (int64_t i = 0; i < n; ++i) in->as<float>()[i] = static_cast<float>(i);
  CpuBackend cpu(test_cache());
  EXPECT_EQ(cpu.run(g, {in})[0]->as<float>()[0], 499999.5f);
}

}  // namespace
}  // namespace kiln::backends::cpu::testing
