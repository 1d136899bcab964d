// Row chains on the CUDA backend (backends/cuda/chain_kernel.h): which steps become one chain
// kernel, that every chain kernel compiles with NVRTC, and (on a GPU, or on the emulated device
// with host kernels) that running a program's chains as chain kernels gives the bits of its
// steps run one kernel each.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpu/cpu_test_util.h"
#include "cuda/gpu_skip.h"
#include "cuda/nvrtc_test_cache.h"
#include "interp/random_graph.h"
#include "kiln/backends/cuda/chain_kernel.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/backends/cuda/cuda_backend.h"
#include "kiln/backends/cuda/nvrtc.h"
#include "kiln/passes/lower_program.h"
#include "kiln/passes/pipeline.h"

namespace kiln {
namespace {

namespace bc = backends::cuda;
using backends::BufferPtr;
using backends::cpu::RowChain;
using backends::cpu::testing::add;
using backends::cpu::testing::Data;
using backends::cpu::testing::make_data;
using ir::Graph;
using ir::Op;
using ir::TensorType;
using ir::ValueId;

constexpr int kH100Sms = 132;

ValueId broadcast(Graph& g, ValueId v, const Shape& shape) {
  return add(g, Op::expand, {v}, ir::ShapeAttrs{shape});
}

// softmax over the last dim of x, as the frontend records it; with `keep_exp` the exp is an
// output too, so it is materialized (as the frontend's pipeline often decides).
Graph softmax(const Shape& shape, DType dtype, bool keep_exp = false) {
  Graph g;
  const ValueId x = g.add_input(TensorType{dtype, shape});
  const int64_t last = static_cast<int64_t>(shape.size()) - 1;
  const ValueId m = add(g, Op::amax, {x}, ir::ReduceAttrs{{last}, true});
  const ValueId e = add(g, Op::exp, {add(g, Op::sub, {x, broadcast(g, m, shape)})});
  const ValueId s = add(g, Op::sum, {e}, ir::ReduceAttrs{{last}, true});
  const ValueId y = add(g, Op::div, {e, broadcast(g, s, shape)});
  if (keep_exp) {
    g.set_outputs({y, e});
  } else {
    g.set_outputs({y});
  }
  return g;
}

// y = x * sum(exp(z), 1): the reduction reduces `short_cols` elements (40: its launch has 64
// threads), the elementwise step has 300 points a row (256 threads), so the chain kernel's
// block is larger than the reduction's own launch.
Graph wide_row_after_short_sum(int64_t rows, int64_t short_cols = 40) {
  Graph g;
  const ValueId x = g.add_input(TensorType{float64, {rows, 300}});
  const ValueId z = g.add_input(TensorType{float64, {rows, short_cols}});
  const ValueId s = add(g, Op::sum, {add(g, Op::exp, {z})}, ir::ReduceAttrs{{1}, true});
  g.set_outputs({add(g, Op::mul, {x, broadcast(g, s, {rows, 300})})});
  return g;
}

// Integer rows: the first index of each row's maximum, and x divided by its row sum (integer
// division: the chain kernel carries the error word).
Graph integer_rows(int64_t rows) {
  Graph g;
  const Shape shape = {rows, 3, 50};
  const ValueId x = g.add_input(TensorType{int64, shape});
  const ValueId s = add(g, Op::sum, {x}, ir::ReduceAttrs{{2}, true});
  const ValueId q = add(g, Op::div, {x, broadcast(g, s, shape)});
  const ValueId a = add(g, Op::argmax, {q}, ir::ReduceAttrs{{2}, true});
  g.set_outputs({q, a});
  return g;
}

// x * argmax(x, 1) and x / amax(x, 1): index and extreme reductions over short rows.
Graph argmax_then_scale(const Shape& shape, DType dtype) {
  Graph g;
  const ValueId x = g.add_input(TensorType{dtype, shape});
  const ValueId a = add(g, Op::argmax, {x}, ir::ReduceAttrs{{1}, true});
  const ValueId m = add(g, Op::amax, {x}, ir::ReduceAttrs{{1}, true});
  const ValueId scaled =
      add(g, Op::mul, {x, broadcast(g, add(g, Op::cast, {a}, ir::CastAttrs{dtype}), shape)});
  g.set_outputs({add(g, Op::div, {scaled, broadcast(g, m, shape)})});
  return g;
}

std::vector<RowChain> chains_of(const Graph& g) {
  return bc::plan_cuda_row_chains(g, passes::lower_program(g), kH100Sms);
}

TEST(ChainKernelPlan, SoftmaxIsOneChainKernel) {
  const Graph g = softmax({4096, 4096}, float32);
  const ir::Program program = passes::lower_program(g);
  const std::vector<RowChain> chains = bc::plan_cuda_row_chains(g, program, kH100Sms);
  ASSERT_EQ(chains.size(), 1u);
  EXPECT_EQ(chains[0].first, 0u);
  EXPECT_EQ(chains[0].last, program.steps.size() - 1);
  EXPECT_EQ(bc::chain_threads(program, chains[0]), 256u);
  EXPECT_FALSE(bc::chain_warp_per_row(program, chains[0]));
  EXPECT_EQ(bc::chain_blocks(program, chains[0], kH100Sms), 4096u);
}

TEST(ChainKernelPlan, BlocksFitTheLargestStepAndSplitReductionsEndChains) {
  const Graph wide = wide_row_after_short_sum(500);
  const ir::Program program = passes::lower_program(wide);
  const std::vector<RowChain> chains = bc::plan_cuda_row_chains(wide, program, kH100Sms);
  ASSERT_EQ(chains.size(), 1u);
  EXPECT_EQ(bc::chain_threads(program, chains[0]), 256u);
  // Small rows: one warp.
  const Graph small = softmax({1000, 10}, float32);
  const ir::Program small_program = passes::lower_program(small);
  const std::vector<RowChain> small_chains = chains_of(small);
  ASSERT_EQ(small_chains.size(), 1u);
  EXPECT_EQ(bc::chain_threads(small_program, small_chains[0]), 32u);
  // ... so a warp per row, 8 rows to a block.
  EXPECT_TRUE(bc::chain_warp_per_row(small_program, small_chains[0]));
  EXPECT_EQ(bc::chain_launch_threads(small_program, small_chains[0]), 256u);
  EXPECT_EQ(bc::chain_blocks(small_program, small_chains[0], kH100Sms), 125u);
  // Few long rows: the reductions' own launches split, so nothing chains; rows longer than
  // kMaxChainRowBytes do not chain either.
  EXPECT_TRUE(chains_of(softmax({4, 1 << 17}, float32)).empty());
  EXPECT_TRUE(chains_of(softmax({1000, 1 << 14}, float32)).empty());
  EXPECT_EQ(chains_of(softmax({1000, 1 << 12}, float32)).size(), 1u);
  // x, the exp and the result: 48 KiB a row.
  const Graph kept = softmax({4096, 4096}, float32, /*keep_exp=*/true);
  const ir::Program kept_program = passes::lower_program(kept);
  const std::vector<RowChain> kept_chains = chains_of(kept);
  ASSERT_EQ(kept_chains.size(), 1u);
  EXPECT_EQ(kept_chains[0].last - kept_chains[0].first + 1, kept_program.steps.size());
}

// Every chain kernel of these programs and of random graphs' compiles for sm_90.
TEST(NvrtcChains, ChainKernelsCompile) {
  if (!bc::nvrtc_available()) GTEST_SKIP() << bc::why_nvrtc_unavailable();
  std::vector<Graph> graphs;
  graphs.push_back(softmax({4096, 4096}, float32));
  graphs.push_back(softmax({64, 7, 33}, float16));
  graphs.push_back(softmax({1000, 10}, float32));  // a warp per row
  graphs.push_back(wide_row_after_short_sum(500));
  graphs.push_back(integer_rows(300));
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    testing::RandomGraph r = testing::random_graph(seed);
    passes::run_realization_pipeline(r.graph);
    graphs.push_back(std::move(r.graph));
  }
  std::string unit(bc::cuda_prelude());
  int chains = 0;
  for (const Graph& g : graphs) {
    const ir::Program program = passes::lower_program(g);
    for (const RowChain& chain : bc::plan_cuda_row_chains(g, program, kH100Sms)) {
      std::vector<const ir::LoopKernel*> steps;
      for (size_t s = chain.first; s <= chain.last; ++s) steps.push_back(&program.steps[s].kernel);
      const std::string source = bc::emit_cuda_chain_kernel(steps, absl::StrCat("chain", chains++),
                                                            bc::chain_warp_per_row(program, chain));
      unit += source.substr(bc::cuda_prelude().size());
    }
  }
  EXPECT_GE(chains, 4);
  const bc::CompiledModule m = test::nvrtc_compile_cached(unit, "chains", 90);
  EXPECT_FALSE(m.image.empty());
}

BufferPtr to_device(const BufferPtr& host) { return bc::upload(host, Device("cuda:0")); }

// Runs `g` step by step (Backend::run plans no chains) and as an executable (whose chains run
// as chain kernels): the same bits.
void expect_chains_change_no_bits(const Graph& g, const std::vector<BufferPtr>& host_inputs) {
  auto& backend = bc::cuda_backend(0);
  std::vector<BufferPtr> inputs;
  for (const BufferPtr& h : host_inputs) inputs.push_back(to_device(h));
  const std::vector<BufferPtr> want = backend.run(g, inputs);
  const std::unique_ptr<backends::Executable> executable = backend.compile(g);
  const bc::CudaBackendStats before = bc::cuda_backend_stats();
  const std::vector<BufferPtr> got = executable->run(inputs);
  const bc::CudaBackendStats after = bc::cuda_backend_stats();
  EXPECT_GT(after.chain_launches, before.chain_launches) << "no chain kernel ran";
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < got.size(); ++o) {
    const BufferPtr a = bc::download(got[o]), b = bc::download(want[o]);
    ASSERT_EQ(a->nbytes(), b->nbytes());
    EXPECT_EQ(std::memcmp(a->data(), b->data(), b->nbytes()), 0) << "output " << o;
  }
}

TEST(CudaChains, ChainKernelsGiveTheBitsOfTheStepsRunAlone) {
  GPU_KERNELS_OR_SKIP();
  expect_chains_change_no_bits(softmax({300, 257}, float32),
                               {make_data(float32, 300 * 257, 5, Data::kModerate)});
  expect_chains_change_no_bits(softmax({90, 300}, float32, /*keep_exp=*/true),
                               {make_data(float32, 90 * 300, 13, Data::kSpecial)});
  expect_chains_change_no_bits(softmax({50, 7, 33}, float64),
                               {make_data(float64, 50 * 7 * 33, 6, Data::kSpecial)});
  expect_chains_change_no_bits(softmax({200, 10}, float16),
                               {make_data(float16, 200 * 10, 7, Data::kModerate)});
  // Rows of at most 32: run alone, the reductions take a warp per point (SYMBOL_warp); in a
  // chain with a wider step, a 32-thread block combine (the sum of 20 here); in a chain of
  // short rows only, a warp per row. The same bits, NaN, infinities and ties included.
  const uint64_t warps_before = bc::cuda_backend_stats().warp_reductions;
  expect_chains_change_no_bits(wide_row_after_short_sum(70, 20),
                               {make_data(float64, 70 * 300, 14, Data::kSpecial),
                                make_data(float64, 70 * 20, 15, Data::kSpecial)});
  expect_chains_change_no_bits(softmax({300, 31}, float64),
                               {make_data(float64, 300 * 31, 11, Data::kSpecial)});
  expect_chains_change_no_bits(argmax_then_scale({300, 32}, float32),
                               {make_data(float32, 300 * 32, 12, Data::kSmallInts)});
  EXPECT_GT(bc::cuda_backend_stats().warp_reductions, warps_before);
  expect_chains_change_no_bits(wide_row_after_short_sum(70),
                               {make_data(float64, 70 * 300, 8, Data::kModerate),
                                make_data(float64, 70 * 40, 9, Data::kModerate)});
  expect_chains_change_no_bits(integer_rows(40), {make_data(int64, 40 * 150, 10, Data::kPositive)});
}

TEST(CudaChains, IntegerDivisionByZeroInAChainThrows) {
  GPU_KERNELS_OR_SKIP();
  const Graph g = integer_rows(40);
  const std::unique_ptr<backends::Executable> executable = bc::cuda_backend(0).compile(g);
  // Rows of zeros: every sum is zero.
  BufferPtr zeros = runtime::Buffer::allocate(40 * 150 * 8);
  std::memset(zeros->data(), 0, zeros->nbytes());
  try {
    executable->run({to_device(zeros)});
    FAIL() << "expected ZeroDivisionError";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ZeroDivisionError"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln
