// Differential fuzzing of the CPU backend: random graphs (tests/interp/random_graph.h) run on
// the reference interpreter and on CpuBackend with the same inputs.
//
// With RandomGraphOptions::exact_float_math the graphs avoid what LLVM may round differently
// (libmvec's transcendental functions, floating sums in their lane order and the blocked matmul's
// float accumulation), so the bar is bit-identical output. With every op, the bar is that the
// backend never throws, returns the right sizes, and agrees bit for bit on every graph that
// happens to have no such op.
//
// Environment (for replaying a failure or a long run by hand):
//   KILN_FUZZ_SEED=S     first seed (default 1); graph i uses seed S + i
//   KILN_FUZZ_GRAPHS=N   number of graphs per test
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "cpu/cpu_test_util.h"
#include "gtest/gtest.h"
#include "interp/random_graph.h"
#include "kiln/ir/libm_ops.h"

namespace kiln::backends::cpu::testing {
namespace {

using kiln::testing::random_graph;
using kiln::testing::random_inputs;
using kiln::testing::RandomGraph;
using kiln::testing::RandomGraphOptions;

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

bool has_inexact_op(const Graph& g) {
  for (const ir::Node& n : g.nodes())
    if (ir::is_libm_op(n.op) || n.op == Op::matmul || n.op == Op::sum || n.op == Op::prod)
      return true;
  return false;
}

// "" when the CpuBackend agrees with the interpreter on the graph of `seed` (bit for bit unless
// `exact` is false and the graph has an op that may round differently).
std::string check(CpuBackend& cpu, uint64_t seed, const RandomGraphOptions& options) {
  const RandomGraph rg = random_graph(seed, options);
  const Graph& g = rg.graph;
  const std::vector<BufferPtr> inputs = kiln::testing::random_inputs(rg, seed);
  std::vector<BufferPtr> want, got;
  try {
    want = interp::Interpreter().run(g, inputs);
  } catch (const std::exception& e) {
    return std::string("the interpreter threw (a generator bug): ") + e.what();
  }
  try {
    got = cpu.run(g, inputs);
  } catch (const std::exception& e) {
    return std::string("CpuBackend threw: ") + e.what();
  }
  if (got.size() != want.size()) return "CpuBackend returned the wrong number of outputs";
  const bool bitwise = options.exact_float_math || !has_inexact_op(g);
  for (size_t i = 0; i < want.size(); ++i) {
    const ir::TensorType& t = g.node(g.outputs()[i]).type;
    if (got[i]->nbytes() != want[i]->nbytes())
      return "output " + std::to_string(i) + " has the wrong size";
    if (!bitwise) continue;
    // NaN payloads aside (compare_buffers lets any NaN match any NaN), every bit must agree.
    const std::string diff = compare_buffers(t.dtype, want[i], got[i], Tolerance{});
    if (!diff.empty())
      return "output " + std::to_string(i) + " (" + ir::to_string(t) + ") differs:\n" + diff;
  }
  return "";
}

void fuzz(const char* test, const RandomGraphOptions& options, uint64_t count) {
  CpuBackend cpu(test_cache());
  const uint64_t first = env_or("KILN_FUZZ_SEED", 1);
  count = env_or("KILN_FUZZ_GRAPHS", count);
  int failures = 0;
  for (uint64_t i = 0; i < count && failures < 5; ++i) {
    const uint64_t seed = first + i;
    std::string error;
    try {
      error = check(cpu, seed, options);
    } catch (const std::exception& e) {
      error = std::string("threw: ") + e.what();
    }
    if (error.empty()) continue;
    ++failures;
    ADD_FAILURE() << "seed " << seed << ": " << error << "\nreplay: KILN_FUZZ_SEED=" << seed
                  << " KILN_FUZZ_GRAPHS=1 kiln_cpu_tests --gtest_filter='CpuFuzz." << test << "'\n"
                  << ir::to_string(random_graph(seed, options).graph);
  }
  std::cout << "[ fuzzer   ] " << test << ": " << count << " graphs from seed " << first << ", "
            << failures << " failures\n";
}

TEST(CpuFuzz, ExactGraphsMatchTheInterpreterBitForBit) {
  RandomGraphOptions options;
  options.exact_float_math = true;
  fuzz("ExactGraphsMatchTheInterpreterBitForBit", options, 400);
}

TEST(CpuFuzz, EveryOpRunsWithoutErrors) {
  fuzz("EveryOpRunsWithoutErrors", RandomGraphOptions{}, 200);
}

}  // namespace
}  // namespace kiln::backends::cpu::testing
