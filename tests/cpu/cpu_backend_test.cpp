// The CpuBackend as a whole: how many kernels a realization compiles and runs, reuse of
// compiled kernels across sizes, cache keys that tell constants apart, the evaluator fallback,
// library steps between kernels, and the thread pool on large kernels.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "cpu/cpu_test_util.h"
#include "gtest/gtest.h"
#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cpu/kernel_cache.h"
#include "kiln/passes/fusion.h"
#include "kiln/passes/lower_loops.h"
#include "kiln/runtime/thread_pool.h"

namespace kiln::backends::cpu::testing {
namespace {

ValueId splat(Graph& g, Scalar value, DType dtype, const Shape& shape) {
  const ValueId c =
      add(g, Op::reshape, {g.add_constant(value, dtype)}, ir::ShapeAttrs{Shape(shape.size(), 1)});
  return add(g, Op::expand, {c}, ir::ShapeAttrs{shape});
}

// sum over dim 1 of exp(relu(x * 2 + 1) - x) / 3 * x: six elementwise ops and a reduction.
Graph chain_and_sum(int64_t batch, int64_t width) {
  Graph g;
  const Shape shape = {batch, width};
  const ValueId x = g.add_input(TensorType{float32, shape});
  ValueId v = add(g, Op::mul, {x, splat(g, 2.0, float32, shape)});
  v = add(g, Op::add, {v, splat(g, 1.0, float32, shape)});
  v = add(g, Op::relu, {v});
  v = add(g, Op::sub, {v, x});
  v = add(g, Op::exp, {v});
  v = add(g, Op::div, {v, splat(g, 3.0, float32, shape)});
  g.set_outputs({add(g, Op::sum, {v}, ir::ReduceAttrs{{1}, false})});
  return g;
}

TEST(CpuBackend, ElementwiseChainAndSumIsOneKernel) {
  const Graph g = chain_and_sum(4, 100);
  const ir::Program program = passes::lower_to_loops(g, passes::plan_fusion(g));
  ASSERT_EQ(program.steps.size(), 1u);
  EXPECT_EQ(program.steps[0].kind, ir::ProgramStep::Kind::kKernel);
  EXPECT_EQ(program.steps[0].kernel.kind, ir::LoopKernel::Kind::kReduction);

  const CpuBackendStats before = cpu_backend_stats();
  expect_matches_interpreter(g, {make_data(float32, 400, 1, Data::kPositive)}, kFloatSum);
  const CpuBackendStats after = cpu_backend_stats();
  EXPECT_EQ(after.kernels_compiled_run - before.kernels_compiled_run, 1u);
  EXPECT_EQ(after.kernels_evaluated, before.kernels_evaluated);
}

TEST(CpuBackend, ChangingTheBatchSizeReusesTheCompiledKernel) {
  CpuBackend cpu(test_cache());
  // Compiles (or loads) both layout classes: a batch of 1 drops its size-1 dim, which makes a
  // reduction kernel of rank 1 instead of 2.
  cpu.run(chain_and_sum(4, 64), {make_data(float32, 4 * 64, 1)});
  cpu.run(chain_and_sum(1, 64), {make_data(float32, 64, 1)});
  const CpuBackendStats before = cpu_backend_stats();
  const KernelCacheStats cache_before = test_cache().stats();
  for (int64_t batch : {1, 7, 300}) {
    for (int64_t width : {3, 64, 1000}) {
      const Graph g = chain_and_sum(batch, width);
      expect_matches_interpreter(cpu, g, {make_data(float32, batch * width, 2, Data::kPositive)},
                                 kFloatSum);
    }
  }
  const CpuBackendStats after = cpu_backend_stats();
  const KernelCacheStats cache_after = test_cache().stats();
  EXPECT_EQ(after.kernel_lookups, before.kernel_lookups) << "a size change asked for a kernel";
  EXPECT_EQ(cache_after.compiles, cache_before.compiles);
  EXPECT_EQ(cache_after.disk_hits, cache_before.disk_hits);
  EXPECT_EQ(after.kernels_compiled_run - before.kernels_compiled_run, 9u);
}

TEST(CpuBackend, ConstantsAreLaunchArgumentsNotCode) {
  // x * c for several c: one compiled kernel, each launch computing with its own constant
  // (ir::structural_key prints 0.1 and 0.1000001 alike: the values must not come from it).
  CpuBackend cpu(test_cache());
  const BufferPtr in = make_data(float64, 8, 3);
  uint64_t lookups_after_first = 0;
  for (double c : {0.1, 0.1000001, 0.10000001, -7.0, 1e300}) {
    Graph g;
    const ValueId x = g.add_input(TensorType{float64, {8}});
    g.set_outputs({add(g, Op::mul, {x, splat(g, c, float64, {8})})});
    expect_matches_interpreter(cpu, g, {in}, {}, std::to_string(c));
    if (lookups_after_first == 0) lookups_after_first = cpu_backend_stats().kernel_lookups;
  }
  EXPECT_EQ(cpu_backend_stats().kernel_lookups, lookups_after_first);
}

TEST(CpuBackend, MeanOverANewBatchSizeReusesTheKernel) {
  // mean = sum / count: the count is a constant of the graph, new for every batch size.
  CpuBackend cpu(test_cache());
  uint64_t lookups_after_first = 0;
  for (int64_t batch : {2, 3, 17, 64}) {
    Graph g;
    const ValueId x = g.add_input(TensorType{float32, {batch, 10}});
    const ValueId total = add(g, Op::sum, {x}, ir::ReduceAttrs{{0}, false});
    g.set_outputs({add(g, Op::div, {total, splat(g, static_cast<double>(batch), float32, {10})})});
    expect_matches_interpreter(cpu, g, {make_data(float32, batch * 10, 4, Data::kModerate)},
                               kFloatSum, std::to_string(batch));
    if (lookups_after_first == 0) lookups_after_first = cpu_backend_stats().kernel_lookups;
  }
  EXPECT_EQ(cpu_backend_stats().kernel_lookups, lookups_after_first);
}

TEST(CpuBackend, PowExponentsAreCompiledIn) {
  // x ** 2 becomes x * x (exact) because the exponent is part of the code.
  for (double e : {2.0, 3.0, 0.5, -1.0}) {
    Graph g;
    const ValueId x = g.add_input(TensorType{float32, {40}});
    g.set_outputs({add(g, Op::pow, {x, splat(g, e, float32, {40})})});
    const ir::Program p = passes::lower_to_loops(g, passes::plan_fusion(g));
    const ir::LoopKernel& k = p.steps[0].kernel;
    for (size_t i = 0; i < k.exprs.size(); ++i) EXPECT_FALSE(is_runtime_constant(k, i));
    expect_matches_interpreter(g, {make_data(float32, 40, 5)}, kTranscendental, std::to_string(e));
  }
}

TEST(CpuBackend, IntegerDivisionAndPowRunOnTheEvaluator) {
  Graph g;
  const Shape shape = {5, 6};
  const ValueId a = g.add_input(TensorType{int32, shape});
  const ValueId b = g.add_input(TensorType{int32, shape});
  const ValueId q = add(g, Op::div, {a, b});
  g.set_outputs({add(g, Op::add, {q, a}), add(g, Op::pow, {a, b}), add(g, Op::mul, {a, b})});
  const CpuBackendStats before = cpu_backend_stats();
  expect_matches_interpreter(g,
                             {make_data(int32, 30, 1), make_data(int32, 30, 2, Data::kPositive)});
  const CpuBackendStats after = cpu_backend_stats();
  EXPECT_EQ(after.kernels_evaluated - before.kernels_evaluated, 2u);
  EXPECT_EQ(after.kernels_compiled_run - before.kernels_compiled_run, 1u);
}

TEST(CpuBackend, LibraryStepsBetweenKernels) {
  Graph g;
  const ValueId a = g.add_input(TensorType{float32, {3, 4, 5}});
  const ValueId b = g.add_input(TensorType{float32, {3, 5, 2}});
  const ValueId ea = add(g, Op::relu, {a});
  const ValueId m = add(g, Op::matmul, {ea, b});
  const ValueId c = add(g, Op::cat, {m, m}, ir::AxisAttrs{2});
  g.set_outputs({add(g, Op::sum, {add(g, Op::neg, {c})}, ir::ReduceAttrs{{1}, true})});
  expect_matches_interpreter(
      g, {make_data(float32, 60, 1, Data::kSmallInts), make_data(float32, 30, 2, Data::kSmallInts)},
      kFloatSum);
}

TEST(CpuBackend, OutputsAreFreshBuffersAndInputsAreUntouched) {
  Graph g;
  const ValueId x = g.add_input(TensorType{float32, {10}});
  const ValueId y = add(g, Op::neg, {x});
  g.set_outputs({y, y, x});
  const BufferPtr in = make_data(float32, 10, 4);
  std::vector<float> before(in->as<float>(), in->as<float>() + 10);
  CpuBackend cpu(test_cache());
  const std::vector<BufferPtr> out = cpu.run(g, {in});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NE(out[0].get(), out[1].get());
  EXPECT_NE(out[2].get(), in.get());
  EXPECT_EQ(std::memcmp(before.data(), in->data(), 40), 0);
  expect_matches_interpreter(g, {in});
}

TEST(CpuBackend, LargeKernelsRunOnThePool) {
  const int old = runtime::num_threads();
  runtime::set_num_threads(4);
  for (int64_t n :
       {int64_t{32767}, int64_t{32768}, int64_t{32769}, int64_t{4 * 32768 + 5}, int64_t{1} << 20}) {
    Graph g;
    const ValueId x = g.add_input(TensorType{float32, {n}});
    const ValueId h = add(g, Op::cast, {x}, ir::CastAttrs{float16});
    g.set_outputs(
        {add(g, Op::mul, {x, add(g, Op::relu, {x})}), add(g, Op::sqrt, {add(g, Op::abs, {h})})});
    expect_matches_interpreter(g, {make_data(float32, n, 5)}, {}, std::to_string(n));
  }
  runtime::set_num_threads(old);
}

// An executable prepares each launch at its first run (KernelMemo): threads that start one
// executable at once race to publish; each must compute with a complete preparation, and
// every result must equal a run that prepares nothing ahead.
TEST(CpuBackend, OneExecutableRunsFromSeveralThreadsAtOnce) {
  Graph g = chain_and_sum(4, 100);
  const ValueId x = 0;
  g.set_outputs({g.outputs()[0], add(g, Op::neg, {x})});
  CpuBackend cpu(test_cache());
  constexpr int kThreads = 4, kRuns = 50;
  std::vector<BufferPtr> inputs;
  std::vector<std::vector<BufferPtr>> expected;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(make_data(float32, 400, static_cast<uint32_t>(t + 1), Data::kPositive));
    expected.push_back(cpu.run(g, {inputs.back()}));
  }
  const std::unique_ptr<Executable> executable = cpu.compile(g);
  std::atomic<int> ready{0};
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) {
      }
      for (int r = 0; r < kRuns; ++r) {
        const std::vector<BufferPtr> out = executable->run({inputs[static_cast<size_t>(t)]});
        for (size_t o = 0; o < out.size(); ++o) {
          const BufferPtr& want = expected[static_cast<size_t>(t)][o];
          if (out[o]->nbytes() != want->nbytes() ||
              std::memcmp(out[o]->data(), want->data(), want->nbytes()) != 0)
            ++mismatches[static_cast<size_t>(t)];
        }
      }
    });
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[static_cast<size_t>(t)], 0) << t;
}

// Not a correctness test: prints the time of one fused kernel against the interpreter
// (run with --gtest_also_run_disabled_tests --gtest_filter=*Speed*).
TEST(CpuBackend, DISABLED_SpeedOfAFusedKernel) {
  constexpr int64_t n = int64_t{1} << 24;
  Graph g;
  const Shape shape = {n};
  const ValueId x = g.add_input(TensorType{float32, shape});
  ValueId v = add(g, Op::mul, {x, splat(g, 2.0, float32, shape)});
  v = add(g, Op::add, {v, splat(g, 1.0, float32, shape)});
  v = add(g, Op::mul, {add(g, Op::exp, {v}), x});
  g.set_outputs({add(g, Op::sum, {v}, ir::ReduceAttrs{{0}, false})});
  BufferPtr in = runtime::Buffer::allocate(n * sizeof(float));
  for (int64_t i = 0; i < n; ++i)
    in->as<float>()[i] = -4.f + 8.f * static_cast<float>(i % 1000) / 1000.f;
  auto time = [&](Backend& backend) {
    backend.run(g, {in});  // warm up (compiles)
    double best = 1e30;
    for (int r = 0; r < 3; ++r) {
      const auto start = std::chrono::steady_clock::now();
      backend.run(g, {in});
      best = std::min(
          best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
    }
    return best;
  };
  CpuBackend cpu(test_cache());
  interp::Interpreter interpreter;
  const double cpu_ms = time(cpu), interp_ms = time(interpreter);
  std::printf(
      "((x*2+1).exp()*x).sum() on 16M float32, %d threads: cpu %.2f ms, interpreter "
      "%.2f ms (%.1fx)\n",
      runtime::num_threads(), cpu_ms, interp_ms, interp_ms / cpu_ms);
}

}  // namespace
}  // namespace kiln::backends::cpu::testing
