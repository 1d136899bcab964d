// The CUDA backend's index/index_put and integer matmul kernels without a GPU: every dtype's
// module compiles with NVRTC for sm_90 with the parameter layout the host fills, and the
// index plans (index_steps.h), run through a host restatement of the kernels' arithmetic,
// give the interpreter's bytes on random graphs. The kernels themselves run in
// gpu_index_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cuda/nvrtc_test_cache.h"
#include "cuda/plan_check.h"
#include "interp/random_graph.h"
#include "kiln/backends/cuda/index_steps.h"
#include "kiln/backends/cuda/matmul.h"
#include "kiln/backends/cuda/nvrtc.h"
#include "kiln/backends/interp/element.h"
#include "kiln/backends/interp/interpreter.h"
#include "kiln/backends/interp/loop_evaluator.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/passes/lower_program.h"
#include "kiln/runtime/error.h"

namespace kiln {
namespace {

namespace bc = backends::cuda;
namespace bi = backends::interp;

#define NVRTC_OR_SKIP() \
  if (!bc::nvrtc_available()) GTEST_SKIP() << "NVRTC unavailable: " << bc::why_nvrtc_unavailable()

constexpr const char* kIndexKernels[] = {"resolve", "gather", "win",   "put",
                                         "keys",    "sort",   "merge", "accum"};

TEST(NvrtcIndex, EveryDtypesKernelsCompile) {
  NVRTC_OR_SKIP();
  for (DType t : kAllDTypes) {
    SCOPED_TRACE(name(t));
    try {
      // One CUBIN (the runtime's path) keeps the suite fast; PTX covers every dtype's code.
      if (t == float16) {
        EXPECT_TRUE(test::nvrtc_compile_cached(bc::index_source(t), "index", 90).is_cubin);
      }
      const bc::CompiledModule ptx =
          test::nvrtc_compile_cached(bc::index_source(t), "index", 90, false);
      for (const char* kernel : kIndexKernels)
        EXPECT_NE(ptx.image.find(absl::StrCat(".entry ", bc::index_symbol(t, kernel), "(")),
                  std::string::npos)
            << kernel;
      // The CUDA struct has the host struct's size (the layouts are field for field).
      EXPECT_NE(ptx.image.find(absl::StrCat(bc::index_symbol(t, "resolve"), "_param_0[",
                                            sizeof(bc::IndexParams), "]")),
                std::string::npos)
          << ptx.image.substr(0, 4000);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

TEST(NvrtcIndex, IntegerAndBoolMatmulCompile) {
  NVRTC_OR_SKIP();
  for (DType t : kAllDTypes) {
    SCOPED_TRACE(name(t));
    EXPECT_EQ(bc::matmul_int_supported(t), !is_floating_point(t));
    if (!bc::matmul_int_supported(t)) continue;
    try {
      const bc::CompiledModule ptx =
          test::nvrtc_compile_cached(bc::matmul_int_source(t), "mm", 90, false);
      EXPECT_NE(ptx.image.find(absl::StrCat(bc::matmul_int_symbol(t), "_param_0[",
                                            sizeof(bc::MatmulParams), "]")),
                std::string::npos);
      EXPECT_TRUE(test::nvrtc_compile_cached(bc::matmul_int_source(t), "mm", 90).is_cubin);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

// ---- the plans on the host ----

int64_t unravel(int64_t i, int64_t rank, const int64_t* sizes, const int64_t* strides) {
  int64_t off = 0;
  for (int64_t d = rank - 1; d >= 0; --d) {
    off += i % sizes[d] * strides[d];
    i /= sizes[d];
  }
  return off;
}

// The kernels of index_kernels.cpp restated sequentially over host buffers (same index
// arithmetic, same order rules: winners by largest value element, accumulation by sorted
// (run, position) keys), so a wrong plan shows as a wrong byte here.
backends::BufferPtr run_planned(const ir::Graph& graph, const ir::ProgramStep& step,
                                const bc::IndexParams& p,
                                absl::Span<const backends::BufferPtr> operands) {
  const ir::Node& node = graph.node(step.node);
  const bool put = node.op == ir::Op::index_put;
  const bool accumulate = put && std::get<ir::IndexPutAttrs>(node.attrs).accumulate;
  const size_t first = put ? 2 : 1;
  const DType dtype = node.type.dtype;
  const size_t size = itemsize(dtype);
  const int64_t out_numel = numel(node.type.shape);
  auto out = runtime::Buffer::allocate(static_cast<size_t>(out_numel) * size);
  auto* o_bytes = static_cast<std::byte*>(out->data());
  if (put) {
    const auto dense =
        backends::dense_operand(step.operands[0], operands[0], graph.node(node.inputs[0]).type);
    if (out_numel > 0) std::memcpy(o_bytes, dense->data(), out->nbytes());
  }
  std::vector<int64_t> runs(static_cast<size_t>(p.positions));
  for (int64_t j = 0; j < p.k; ++j) {
    const auto* idx = static_cast<const int64_t*>(operands[first + static_cast<size_t>(j)]->data());
    for (int64_t n = 0; n < p.positions; ++n) {
      const int64_t v =
          idx[p.idx_offset[j] + unravel(n, p.idx_rank, p.idx_sizes, p.idx_strides[j])];
      const int64_t s = p.dim_sizes[j];
      if (v < -s || v >= s)
        throw Error(
            absl::StrCat("index ", v, " is out of bounds for dimension ", j, " with size ", s));
      runs[static_cast<size_t>(n)] += (v < 0 ? v + s : v) * p.run_strides[j];
    }
  }
  const auto* data = static_cast<const std::byte*>(operands[put ? 1 : 0]->data());
  const int64_t elements = p.outer * p.positions * p.inner;
  auto value_at = [&](int64_t o, int64_t n, int64_t e) {
    return p.data_offset + unravel(o, p.outer_rank, p.outer_sizes, p.data_outer) +
           unravel(n, p.idx_rank, p.idx_sizes, p.data_mid) +
           unravel(e, p.inner_rank, p.inner_sizes, p.data_inner);
  };
  bi::visit_dtype(dtype, [&]<class S>(std::type_identity<S>) {
    if (!put) {
      for (int64_t r = 0; r < elements; ++r) {
        const int64_t e = r % p.inner, t = r / p.inner, n = t % p.positions, o = t / p.positions;
        const int64_t from = p.data_offset + unravel(o, p.outer_rank, p.outer_sizes, p.data_outer) +
                             runs[static_cast<size_t>(n)] +
                             unravel(e, p.inner_rank, p.inner_sizes, p.data_inner);
        std::memcpy(o_bytes + r * static_cast<int64_t>(size),
                    data + from * static_cast<int64_t>(size), size);
      }
    } else if (!accumulate) {
      std::vector<uint64_t> win(static_cast<size_t>(out_numel), 0);
      auto dest = [&](int64_t f) {
        const int64_t e = f % p.inner, t = f / p.inner, n = t % p.positions, o = t / p.positions;
        return o * p.block + runs[static_cast<size_t>(n)] + e;
      };
      for (int64_t f = elements - 1; f >= 0; --f) {  // any order: the largest f wins
        uint64_t& w = win[static_cast<size_t>(dest(f))];
        w = std::max(w, static_cast<uint64_t>(f) + 1);
      }
      for (int64_t f = 0; f < elements; ++f) {
        const int64_t e = f % p.inner, t = f / p.inner, n = t % p.positions, o = t / p.positions;
        if (win[static_cast<size_t>(dest(f))] == static_cast<uint64_t>(f) + 1)
          bi::store<S>(o_bytes, dest(f), bi::load<S>(data, value_at(o, n, e)));
      }
    } else {
      const uint64_t positions = static_cast<uint64_t>(p.positions);
      std::vector<uint64_t> keys;
      for (int64_t n = 0; n < p.positions; ++n)
        keys.push_back(static_cast<uint64_t>(runs[static_cast<size_t>(n)]) * positions +
                       static_cast<uint64_t>(n));
      std::sort(keys.begin(), keys.end());
      for (int64_t r = 0; r < elements; ++r) {
        const int64_t e = r % p.inner, t = r / p.inner, i = t % p.positions, o = t / p.positions;
        const uint64_t run = keys[static_cast<size_t>(i)] / positions;
        if (i > 0 && keys[static_cast<size_t>(i) - 1] / positions == run) continue;
        const int64_t to = o * p.block + static_cast<int64_t>(run) + e;
        for (int64_t j = i; j < p.positions && keys[static_cast<size_t>(j)] / positions == run;
             ++j) {
          const auto v = bi::load<S>(
              data, value_at(o, static_cast<int64_t>(keys[static_cast<size_t>(j)] % positions), e));
          if constexpr (bi::is_floating_storage<S>)
            bi::store<S>(o_bytes, to, bi::load<S>(o_bytes, to) + v);
          else
            bi::store<S>(o_bytes, to, bi::wrap_add(bi::load<S>(o_bytes, to), v));
        }
      }
    }
  });
  return out;
}

class PlanRunner final : public testing::EvaluatorRunner {
 public:
  backends::BufferPtr run_library(const ir::Graph& graph, const ir::ProgramStep& step,
                                  absl::Span<const backends::BufferPtr> operands,
                                  absl::Span<void*> epilogue_data) override {
    const std::optional<bc::IndexParams> plan = bc::plan_index_step(graph, step);
    if (!plan) return KernelRunner::run_library(graph, step, operands, epilogue_data);
    ++planned;
    return run_planned(graph, step, *plan, operands);
  }
  int planned = 0;
};

TEST(IndexPlans, MatchTheInterpreterOnRandomGraphs) {
  PlanRunner runner;
  testing::expect_programs_match_interpreter(runner, 600);
  EXPECT_GT(runner.planned, 20);
  std::printf("index steps planned: %d\n", runner.planned);
}

// x[:, i1, i2] (dim 1) over a [2, 3, 4, 6] input with [5] indices, the step lowered by hand.
struct SmallIndex {
  ir::Graph graph;
  ir::ProgramStep step;
};

SmallIndex small_index(bool put, bool accumulate) {
  SmallIndex s;
  const ir::ValueId x = s.graph.add_input({float32, {2, 3, 4, 6}});
  const ir::ValueId i1 = s.graph.add_input({int64, {5}});
  const ir::ValueId i2 = s.graph.add_input({int64, {5}});
  absl::StatusOr<ir::ValueId> node;
  std::vector<ir::ValueId> inputs = {x};
  if (put) inputs.push_back(s.graph.add_input({float32, {2, 5, 6}}));
  inputs.push_back(i1);
  inputs.push_back(i2);
  if (put)
    node = s.graph.add(ir::Op::index_put, inputs, ir::IndexPutAttrs{1, accumulate});
  else
    node = s.graph.add(ir::Op::index, inputs, ir::AxisAttrs{1});
  EXPECT_TRUE(node.ok()) << node.status();
  s.step.kind = ir::ProgramStep::Kind::kNode;
  s.step.node = *node;
  s.step.operands.push_back({x, {144, 1, 36, 6}, 3});             // a permuted view with an offset
  if (put) s.step.operands.push_back({inputs[1], {0, 1, 5}, 0});  // broadcast over dim 0
  s.step.operands.push_back({i1, {1}, 0});
  s.step.operands.push_back({i2, {0}, 2});  // one index broadcast over all positions
  return s;
}

TEST(IndexPlans, PartsAndStridesOfTheViews) {
  const SmallIndex gather = small_index(false, false);
  const std::optional<bc::IndexParams> p = bc::plan_index_step(gather.graph, gather.step);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->k, 2);
  EXPECT_EQ(p->positions, 5);
  EXPECT_EQ(p->outer, 2);
  EXPECT_EQ(p->inner, 6);
  EXPECT_EQ(p->block, 72);
  EXPECT_EQ(p->run_strides[0], 1);  // src's view strides, not dense ones
  EXPECT_EQ(p->run_strides[1], 36);
  EXPECT_EQ(p->data_offset, 3);
  EXPECT_EQ(p->data_outer[0], 144);
  EXPECT_EQ(p->data_inner[0], 6);
  EXPECT_EQ(p->idx_strides[1][0], 0);
  EXPECT_EQ(p->idx_offset[1], 2);

  const SmallIndex put = small_index(true, true);
  const std::optional<bc::IndexParams> q = bc::plan_index_step(put.graph, put.step);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->run_strides[0], 24);  // the dense copy of base
  EXPECT_EQ(q->run_strides[1], 6);
  EXPECT_EQ(q->data_outer[0], 0);
  EXPECT_EQ(q->data_mid[0], 1);
  EXPECT_EQ(q->data_inner[0], 5);
}

TEST(IndexPlans, OtherStepsAndOversizedStepsAreNotPlanned) {
  ir::Graph g;
  const ir::ValueId a = g.add_input({int64, {2, 2}});
  const absl::StatusOr<ir::ValueId> mm = g.add(ir::Op::matmul, {a, a}, ir::NoAttrs{});
  ASSERT_TRUE(mm.ok());
  ir::ProgramStep step;
  step.kind = ir::ProgramStep::Kind::kNode;
  step.node = *mm;
  step.operands = {{a, {2, 1}, 0}, {a, {2, 1}, 0}};
  EXPECT_FALSE(bc::plan_index_step(g, step).has_value());
  // An index shape of rank 9 exceeds the kernels' parameter.
  const ir::ValueId x = g.add_input({float32, {4}});
  const ir::ValueId i = g.add_input({int64, Shape(9, 1)});
  const absl::StatusOr<ir::ValueId> gather = g.add(ir::Op::index, {x, i}, ir::AxisAttrs{0});
  ASSERT_TRUE(gather.ok());
  step.node = *gather;
  step.operands = {{x, {1}, 0}, {i, Shape(9, 0), 0}};
  EXPECT_FALSE(bc::plan_index_step(g, step).has_value());
}

}  // namespace
}  // namespace kiln
