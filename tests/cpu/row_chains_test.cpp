// Row chains (backends/cpu/row_chains.h): which steps the planner chains, and that running a
// chain block by block computes exactly what the steps compute one after the other.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu_test_util.h"
#include "gtest/gtest.h"
#include "kiln/backends/cpu/row_chains.h"
#include "kiln/passes/lower_program.h"
#include "kiln/runtime/thread_pool.h"

namespace kiln::backends::cpu::testing {
namespace {

ValueId broadcast(Graph& g, ValueId v, const Shape& shape) {
  return add(g, Op::expand, {v}, ir::ShapeAttrs{shape});
}

// softmax over the rows of an R x C matrix, as the frontend records it (amax, sub, exp, sum,
// div); with `with_exp` false the exp is left out, so that no libm call is involved.
Graph softmax(int64_t rows, int64_t cols, bool with_exp = true) {
  Graph g;
  const Shape shape = {rows, cols};
  const ValueId x = g.add_input(TensorType{float32, shape});
  const ValueId m = add(g, Op::amax, {x}, ir::ReduceAttrs{{1}, true});
  ValueId e = add(g, Op::sub, {x, broadcast(g, m, shape)});
  if (with_exp) e = add(g, Op::exp, {e});
  const ValueId s = add(g, Op::sum, {e}, ir::ReduceAttrs{{1}, true});
  g.set_outputs({add(g, Op::div, {e, broadcast(g, s, shape)})});
  return g;
}

TEST(RowChains, SoftmaxIsOneChain) {
  const Graph g = softmax(512, 256);
  const ir::Program program = passes::lower_program(g);
  ASSERT_GE(program.steps.size(), 3u);
  const std::vector<RowChain> chains = plan_row_chains(g, program);
  ASSERT_EQ(chains.size(), 1u);
  EXPECT_EQ(chains[0].first, 0u);
  EXPECT_EQ(chains[0].last, program.steps.size() - 1);
  EXPECT_EQ(chains[0].rows, 512);
  ASSERT_EQ(chains[0].points_per_row.size(), program.steps.size());
  for (size_t i = 0; i < program.steps.size(); ++i) {
    const bool reduction = program.steps[i].kernel.kind == ir::LoopKernel::Kind::kReduction;
    EXPECT_EQ(chains[0].points_per_row[i], reduction ? 1 : 256) << i;
  }
  // A block's rows of the matrix-sized values (x, y and what the steps pass each other,
  // 1 KiB a row each) fit the block budget.
  EXPECT_GE(chains[0].rows_per_block, 1);
  EXPECT_LE(chains[0].rows_per_block * 2 * 1024, kRowBlockBytes);
  EXPECT_LT(chains[0].rows_per_block, 512);
}

// A step that reads a value of the chain across rows (here the row maxima transposed, so row
// r reads every row's maximum) cannot run on a block of rows before the other blocks finished.
TEST(RowChains, ReadsAcrossRowsAreNotChained) {
  Graph g;
  const Shape shape = {300, 300};
  const ValueId x = g.add_input(TensorType{float32, shape});
  const ValueId m = add(g, Op::amax, {x}, ir::ReduceAttrs{{1}, true});
  const ValueId mt = add(g, Op::permute, {m}, ir::PermuteAttrs{{1, 0}});
  g.set_outputs({add(g, Op::sub, {x, broadcast(g, mt, shape)})});
  const ir::Program program = passes::lower_program(g);
  ASSERT_EQ(program.steps.size(), 2u);
  EXPECT_TRUE(plan_row_chains(g, program).empty());
}

// A column reduction reduces the leading dim: its points are not rows of the launch.
TEST(RowChains, ColumnReductionsAreNotChained) {
  Graph g;
  const Shape shape = {300, 300};
  const ValueId x = g.add_input(TensorType{float32, shape});
  const ValueId s = add(g, Op::sum, {x}, ir::ReduceAttrs{{0}, true});
  g.set_outputs({add(g, Op::div, {x, broadcast(g, s, shape)})});
  const ir::Program program = passes::lower_program(g);
  EXPECT_TRUE(plan_row_chains(g, program).empty());
}

// A value that three reductions read is materialized (its work, four exps, is too much to
// recompute in each); it dies after the last of them, inside the chain, which would hold it
// until its end.
Graph three_reductions_of_one_value(int64_t rows, int64_t cols) {
  Graph g;
  const Shape shape = {rows, cols};
  const ValueId x = g.add_input(TensorType{float32, shape});
  const ValueId m = add(g, Op::amax, {x}, ir::ReduceAttrs{{1}, true});
  ValueId e = add(g, Op::sub, {x, broadcast(g, m, shape)});
  for (int i = 0; i < 4; ++i) e = add(g, Op::exp, {e});
  const ValueId s1 = add(g, Op::sum, {e}, ir::ReduceAttrs{{1}, true});
  const ValueId s2 = add(g, Op::amax, {e}, ir::ReduceAttrs{{1}, true});
  const ValueId s3 = add(g, Op::amin, {e}, ir::ReduceAttrs{{1}, true});
  ValueId y = add(g, Op::mul, {x, broadcast(g, s1, shape)});
  y = add(g, Op::add, {y, broadcast(g, s2, shape)});
  g.set_outputs({add(g, Op::sub, {y, broadcast(g, s3, shape)})});
  return g;
}

// The bytes of chain-produced values that the memory plan frees before the chain's last step.
int64_t held_bytes(const Graph& g, const ir::Program& program, const RowChain& chain) {
  std::vector<ValueId> produced;
  int64_t bytes = 0;
  for (size_t s = chain.first; s <= chain.last; ++s) {
    const ir::ProgramStep& step = program.steps[s];
    for (size_t a = 0; a < step.arg_values.size(); ++a)
      if (step.kernel.args[a].is_output) produced.push_back(step.arg_values[a]);
    if (s == chain.last) break;
    for (const ValueId v : program.memory.release_after[s])
      if (std::find(produced.begin(), produced.end(), v) != produced.end())
        bytes += numel(g.node(v).type.shape) * 4;
  }
  return bytes;
}

TEST(RowChains, ChainsHoldLittleThatThePlanWouldFree) {
  // Small: everything is one chain, holding the value (4 KiB) and the row maxima its step
  // read (128 bytes) to the end.
  const Graph small = three_reductions_of_one_value(32, 32);
  const ir::Program small_program = passes::lower_program(small);
  const std::vector<RowChain> one = plan_row_chains(small, small_program);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].last - one[0].first + 1, small_program.steps.size());
  EXPECT_EQ(held_bytes(small, small_program, one[0]), 32 * 32 * 4 + 32 * 4);
  // Large (17 MB a value): the chain ends before it would hold the value past its last reader.
  const Graph large = three_reductions_of_one_value(2100, 2048);
  const ir::Program large_program = passes::lower_program(large);
  ASSERT_EQ(large_program.steps.size(), small_program.steps.size());
  const std::vector<RowChain> chains = plan_row_chains(large, large_program);
  ASSERT_FALSE(chains.empty());
  for (const RowChain& chain : chains)
    EXPECT_LE(held_bytes(large, large_program, chain), kMaxHeldBytes) << chain.first;
  EXPECT_LT(chains[0].last - chains[0].first + 1, large_program.steps.size());
}

// Run as a chain (an executable) and step by step (Backend::run, which plans no chain): the
// same bits, and the chain did run block by block.
void expect_chain_changes_no_bits(const Graph& g, const BufferPtr& input) {
  const int old = runtime::num_threads();
  runtime::set_num_threads(4);
  CpuBackend cpu(test_cache());
  const std::vector<BufferPtr> want = cpu.run(g, {input});
  const std::unique_ptr<Executable> executable = cpu.compile(g);
  const CpuBackendStats before = cpu_backend_stats();
  const std::vector<BufferPtr> got = executable->run({input});
  const CpuBackendStats after = cpu_backend_stats();
  runtime::set_num_threads(old);
  EXPECT_GT(after.kernels_chained, before.kernels_chained) << "the chain did not run";
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o]->nbytes(), want[o]->nbytes());
    EXPECT_EQ(std::memcmp(got[o]->data(), want[o]->data(), want[o]->nbytes()), 0) << o;
  }
}

TEST(RowChains, ChainedResultsEqualStepByStepBitForBit) {
  // 1,000 rows of 1,000 floats: several blocks for each of 4 threads.
  const BufferPtr x = make_data(float32, 1000 * 1000, 3, Data::kModerate);
  expect_chain_changes_no_bits(softmax(1000, 1000, /*with_exp=*/false), x);
  expect_chain_changes_no_bits(softmax(1000, 1000), x);
}

}  // namespace
}  // namespace kiln::backends::cpu::testing
