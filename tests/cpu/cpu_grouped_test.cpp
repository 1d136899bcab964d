// Multi-output kernels on the CPU backend (passes/group_kernels.h) and the fixed order of
// floating sums that makes them safe: a value computed in a kernel with its siblings has the
// bits it has when computed alone, and a floating sum adds in the documented lane order
// (backends/cpu/codegen_reduce.cpp) whatever the CPU's vector width.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/cpu_test_util.h"
#include "gtest/gtest.h"
#include "kiln/backends/cpu/split_reduction.h"
#include "kiln/passes/lower_program.h"
#include "kiln/runtime/thread_pool.h"

namespace kiln::backends::cpu::testing {
namespace {

constexpr int64_t kLanes = 64, kMinLanedRow = 32;

// Doubles spread over many binades with both signs: every order of addition rounds
// differently somewhere.
std::vector<double> wide_doubles(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-30, 30);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = std::ldexp(mantissa(rng), exponent(rng));
  return v;
}

template <class T>
BufferPtr buffer_of(const std::vector<T>& v) {
  BufferPtr b = runtime::Buffer::allocate(v.size() * sizeof(T));
  std::memcpy(b->data(), v.data(), v.size() * sizeof(T));
  return b;
}

double value_at(const BufferPtr& b, size_t i) {
  double d;
  std::memcpy(&d, static_cast<const char*>(b->data()) + i * sizeof d, sizeof d);
  return d;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// The documented order of one run of `n` elements: sequential from 0.0 when short; else
// element j into lane j % kLanes, each lane in order, the lanes pairwise, added to 0.0.
double lane_sum(const double* x, int64_t n) {
  if (n < kMinLanedRow) {
    double acc = 0.0;
    for (int64_t j = 0; j < n; ++j) acc += x[j];
    return acc;
  }
  std::vector<double> level(kLanes, 0.0);
  for (int64_t j = 0; j < n; ++j) level[static_cast<size_t>(j % kLanes)] += x[j];
  while (level.size() > 1) {
    std::vector<double> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2) next.push_back(level[i] + level[i + 1]);
    if (level.size() % 2 != 0) next.push_back(level.back());
    level = std::move(next);
  }
  return 0.0 + level[0];
}

std::vector<BufferPtr> run_on_cpu(const Graph& g, const std::vector<BufferPtr>& inputs) {
  CpuBackend cpu(test_cache());
  return cpu.run(g, inputs);
}

TEST(CpuSumOrder, RowsAddInLanesThenPairwise) {
  ThreadCount threads(2);
  for (int64_t row : {1, 31, 32, 33, 1000, 1001, 4099}) {
    const int64_t rows = 3;
    const std::vector<double> x = wide_doubles(rows * row, static_cast<uint32_t>(row));
    Graph g;
    const ValueId in = g.add_input(TensorType{float64, {rows, row}});
    g.set_outputs({add(g, Op::sum, {in}, ir::ReduceAttrs{{1}, false})});
    const std::vector<BufferPtr> got = run_on_cpu(g, {buffer_of(x)});
    for (int64_t r = 0; r < rows; ++r) {
      const double want = lane_sum(x.data() + r * row, row);
      EXPECT_TRUE(same_bits(value_at(got[0], static_cast<size_t>(r)), want))
          << "row " << r << " of " << row << ": " << value_at(got[0], static_cast<size_t>(r))
          << " vs " << want;
    }
  }
}

TEST(CpuSumOrder, SplitRangesAddInOrder) {
  // A long sum of one point is cut into ranges (split_reduction.h): each range in lanes, the
  // ranges' sums added in order. The ranges depend on the size only.
  ThreadCount threads(4);
  const int64_t n = 200003;
  const std::vector<double> x = wide_doubles(n, 5);
  Graph g;
  const ValueId in = g.add_input(TensorType{float64, {n}});
  g.set_outputs({add(g, Op::sum, {in}, ir::ReduceAttrs{{0}, false})});
  const ir::Program p = passes::lower_program(g);
  const int64_t ranges = split_count(p.steps[0].kernel, p.steps[0].launch);
  ASSERT_GT(ranges, 1);
  const int64_t q = n / ranges, m = n % ranges;
  auto bound = [&](int64_t r) { return r * q + std::min(r, m); };
  double want = 0.0;
  for (int64_t r = 0; r < ranges; ++r) {
    const double part = lane_sum(x.data() + bound(r), bound(r + 1) - bound(r));
    want = r == 0 ? part : want + part;
  }
  const std::vector<BufferPtr> got = run_on_cpu(g, {buffer_of(x)});
  EXPECT_TRUE(same_bits(value_at(got[0], 0), want)) << value_at(got[0], 0) << " vs " << want;
}

// sum(x), sum(x * y), sum(y * y) over the last dim, in one graph.
Graph sibling_sums(const Shape& shape) {
  Graph g;
  const ValueId x = g.add_input(TensorType{float64, shape});
  const ValueId y = g.add_input(TensorType{float64, shape});
  const ir::ReduceAttrs last{{static_cast<int64_t>(shape.size()) - 1}, false};
  g.set_outputs({add(g, Op::sum, {x}, last), add(g, Op::sum, {add(g, Op::mul, {x, y})}, last),
                 add(g, Op::sum, {add(g, Op::mul, {y, y})}, last)});
  return g;
}

TEST(CpuGroupedKernels, SiblingSumsGiveTheBitsOfEachSumAlone) {
  ThreadCount threads(4);
  // Rows of every path: sequential (short), in lanes, and split across threads.
  for (const Shape& shape : {Shape{5, 20}, Shape{7, 3001}, Shape{300003}}) {
    const int64_t n = numel(shape);
    const std::vector<BufferPtr> inputs = {buffer_of(wide_doubles(n, 1)),
                                           buffer_of(wide_doubles(n, 2))};
    const Graph together = sibling_sums(shape);
    const ir::Program program = passes::lower_program(together);
    ASSERT_EQ(program.steps.size(), 1u) << shape_to_string(shape);
    EXPECT_EQ(program.steps[0].kernel.stores.size(), 3u);
    const std::vector<BufferPtr> got = run_on_cpu(together, inputs);
    for (size_t out = 0; out < 3; ++out) {
      Graph alone = sibling_sums(shape);
      alone.set_outputs({together.outputs()[out]});
      const std::vector<BufferPtr> want = run_on_cpu(alone, inputs);
      ASSERT_EQ(want[0]->nbytes(), got[out]->nbytes());
      EXPECT_EQ(compare_bits(float64, want[0], got[out]), "")
          << "output " << out << " of " << shape_to_string(shape);
    }
    expect_matches_interpreter(together, inputs, kFloatSum, shape_to_string(shape));
  }
}

TEST(CpuGroupedKernels, RowAndColumnSumsStayApart) {
  // Over a square matrix a sum over dim 1 (rows, in lanes) and one over dim 0 (columns, a block
  // of points in plain order) iterate the same sizes, but the CPU backend adds their elements
  // in different orders: merged, the column sum would take the row sum's order.
  Graph g;
  const ValueId x = g.add_input(TensorType{float64, {300, 300}});
  g.set_outputs({add(g, Op::sum, {x}, ir::ReduceAttrs{{1}, false}),
                 add(g, Op::sum, {x}, ir::ReduceAttrs{{0}, false}),
                 add(g, Op::sum, {add(g, Op::mul, {x, x})}, ir::ReduceAttrs{{0}, false})});
  const ir::Program program = passes::lower_program(g);
  EXPECT_EQ(program.steps.size(), 2u);
  if (program.steps.size() == 2) {
    EXPECT_EQ(program.steps[0].kernel.stores.size(), 1u);
    EXPECT_EQ(program.steps[1].kernel.stores.size(), 2u);  // the two column sums
  }
  const std::vector<BufferPtr> inputs = {buffer_of(wide_doubles(300 * 300, 9))};
  const std::vector<BufferPtr> grouped = run_on_cpu(g, inputs);
  for (size_t out = 0; out < 3; ++out) {
    Graph alone = g;
    alone.set_outputs({g.outputs()[out]});
    const std::vector<BufferPtr> want = run_on_cpu(alone, inputs);
    EXPECT_EQ(compare_bits(float64, want[0], grouped[out]), "") << "output " << out;
  }
}

TEST(CpuGroupedKernels, ElementwiseSiblingsAndTheirReaders) {
  // a = x * 2 and b = x - y are siblings; c = a + y reads a where the kernel stores it, so it
  // joins too and uses a's expression; d = sum(a) is a reduction; e = d + c reads d, computed
  // after the elementwise kernel, so it cannot join it.
  Graph g;
  const ValueId x = g.add_input(TensorType{float32, {64, 33}});
  const ValueId y = g.add_input(TensorType{float32, {64, 33}});
  const ValueId two = g.add_constant(2.0, float32);
  const ValueId a = add(g, Op::mul,
                        {x, add(g, Op::expand, {add(g, Op::reshape, {two}, ir::ShapeAttrs{{1, 1}})},
                                ir::ShapeAttrs{{64, 33}})});
  const ValueId b = add(g, Op::sub, {x, y});
  const ValueId c = add(g, Op::add, {a, y});
  const ValueId d = add(g, Op::sum, {a}, ir::ReduceAttrs{{1}, true});
  const ValueId e = add(g, Op::add, {add(g, Op::expand, {d}, ir::ShapeAttrs{{64, 33}}), c});
  g.set_outputs({a, b, c, e});
  const ir::Program program = passes::lower_program(g);
  ASSERT_EQ(program.steps.size(), 3u);
  const ir::ProgramStep& first = program.steps[0];
  EXPECT_EQ(first.kernel.stores.size(), 3u);  // a, b, c
  int loads_of_a = 0;
  for (const ir::KernelExpr& e_ : first.kernel.exprs)
    if (e_.kind == ir::KernelExpr::Kind::kLoad && first.arg_values[e_.arg] == a) ++loads_of_a;
  EXPECT_EQ(loads_of_a, 0);
  EXPECT_EQ(program.steps[1].kernel.kind, ir::LoopKernel::Kind::kReduction);
  EXPECT_EQ(program.steps[2].kernel.stores.size(), 1u);  // e
  // Moderate values: a sum of ones that cancel catastrophically depends on its order.
  expect_matches_interpreter(g,
                             {make_data(float32, 64 * 33, 3, Data::kModerate),
                              make_data(float32, 64 * 33, 4, Data::kModerate)},
                             kFloatSum);
}

// Runs `g` with sibling grouping on and off (KILN_GROUP_KERNELS, read at every lowering).
std::vector<BufferPtr> run_grouped(const Graph& g, const std::vector<BufferPtr>& inputs,
                                   bool grouped) {
  if (!grouped) setenv("KILN_GROUP_KERNELS", "0", 1);
  std::vector<BufferPtr> out = run_on_cpu(g, inputs);
  unsetenv("KILN_GROUP_KERNELS");
  return out;
}

TEST(CpuGroupedKernels, GroupingChangesNoBits) {
  // The polynomial fit's gradient step: a shared value too costly to recompute four times
  // (materialized without grouping), four sums of it times powers of x, the loss, and the
  // four parameter updates. Grouped, it is one reduction kernel that computes the shared value
  // itself and one elementwise kernel; every output has the bits of the ungrouped program.
  Graph g;
  const int64_t n = 2000;
  const ValueId x = g.add_input(TensorType{float32, {n}});
  const ValueId y = g.add_input(TensorType{float32, {n}});
  std::vector<ValueId> coef;
  for (int i = 0; i < 4; ++i) coef.push_back(g.add_input(TensorType{float32, {}}));
  auto splat = [&](ValueId s) {
    return add(g, Op::expand, {add(g, Op::reshape, {s}, ir::ShapeAttrs{{1}})}, ir::ShapeAttrs{{n}});
  };
  const ValueId x2 = add(g, Op::mul, {x, x}), x3 = add(g, Op::mul, {x2, x});
  ValueId pred = add(g, Op::add, {splat(coef[0]), add(g, Op::mul, {splat(coef[1]), x})});
  pred = add(g, Op::add, {pred, add(g, Op::mul, {splat(coef[2]), x2})});
  pred = add(g, Op::add, {pred, add(g, Op::mul, {splat(coef[3]), x3})});
  const ValueId diff = add(g, Op::sub, {pred, y});
  const ValueId grad = add(g, Op::mul, {splat(g.add_constant(2.0, float32)), diff});
  const ir::ReduceAttrs all{{0}, false};
  std::vector<ValueId> outputs = {add(g, Op::sum, {add(g, Op::mul, {diff, diff})}, all)};
  const ValueId powers[] = {-1, x, x2, x3};
  const ValueId lr = g.add_constant(1e-6, float32);
  for (int i = 0; i < 4; ++i) {
    const ValueId term = i == 0 ? grad : add(g, Op::mul, {grad, powers[i]});
    const ValueId sum = add(g, Op::sum, {term}, all);
    outputs.push_back(add(g, Op::sub, {coef[static_cast<size_t>(i)], add(g, Op::mul, {lr, sum})}));
  }
  g.set_outputs(outputs);
  const ir::Program program = passes::lower_program(g);
  EXPECT_EQ(program.steps.size(), 2u) << ir::to_string(g);
  // Finite data first, so that every output is a number whose bits say something (NaN
  // anywhere in x or y makes every sum NaN); then the special values, NaN and infinities.
  std::vector<float> xs(static_cast<size_t>(n)), ys(static_cast<size_t>(n));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = uniform(rng), ys[i] = uniform(rng);
  std::vector<BufferPtr> finite = {buffer_of(xs), buffer_of(ys)};
  for (int i = 0; i < 4; ++i) finite.push_back(buffer_of(std::vector<float>{0.5f - 0.25f * i}));
  std::vector<BufferPtr> special = {make_data(float32, n, 1, Data::kModerate),
                                    make_data(float32, n, 2, Data::kModerate)};
  for (int i = 0; i < 4; ++i) special.push_back(make_data(float32, 1, 3 + i, Data::kModerate));
  for (const auto* inputs : {&finite, &special}) {
    const std::vector<BufferPtr> grouped = run_grouped(g, *inputs, true);
    const std::vector<BufferPtr> alone = run_grouped(g, *inputs, false);
    for (size_t o = 0; o < grouped.size(); ++o) {
      if (inputs == &finite) {
        EXPECT_TRUE(std::isfinite(*static_cast<float*>(alone[o]->data()))) << "output " << o;
      }
      EXPECT_EQ(compare_bits(float32, alone[o], grouped[o]), "") << "output " << o;
    }
    expect_matches_interpreter(g, *inputs, kFloatSum);
  }
}

TEST(CpuGroupedKernels, KernelsThatMayRaiseOrVaryStayAlone) {
  // An integer division may raise and a libm op's bits depend on vectorization: neither joins
  // a sibling, nor takes one in.
  Graph g;
  const ValueId i = g.add_input(TensorType{int32, {100}});
  const ValueId f = g.add_input(TensorType{float32, {100}});
  g.set_outputs({add(g, Op::div, {i, i}), add(g, Op::mul, {f, f}), add(g, Op::exp, {f}),
                 add(g, Op::add, {f, f})});
  const ir::Program program = passes::lower_program(g);
  ASSERT_EQ(program.steps.size(), 3u);
  EXPECT_EQ(program.steps[1].kernel.stores.size(), 2u);  // mul and add
}

}  // namespace
}  // namespace kiln::backends::cpu::testing
