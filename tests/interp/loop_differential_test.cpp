// Differential fuzzing of fusion + lowering + the loop evaluator: random graphs run on the
// reference interpreter and on LoopBackend with the same inputs must give the same bytes.
//
// Bit-identical is the right bar: the loop evaluator computes every kernel expression with the
// interpreter's own element code at the expression's dtype (so fused intermediates round
// exactly as stored ones do), and lowering keeps the reduced dims in the interpreter's
// row-major order, so even the pairwise float sums add the same numbers in the same tree.
//
// Environment (for replaying a failure or a long run by hand):
//   KILN_FUZZ_SEED=S     first seed (default 1); graph i uses seed S + i
//   KILN_FUZZ_GRAPHS=N   number of graphs per test (defaults: 5000 and 500)
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "interp/interp_test_util.h"
#include "interp/random_graph.h"
#include "kiln/backends/interp/loop_evaluator.h"
#include "kiln/ir/kernel.h"
#include "kiln/passes/fusion.h"
#include "kiln/passes/lower_loops.h"

namespace kiln::testing {
namespace {

using backends::BufferPtr;

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// The lowered program, for the failure report.
std::string program_text(const ir::Graph& g) {
  try {
    const ir::Program p = passes::lower_to_loops(g, passes::plan_fusion(g));
    std::ostringstream os;
    for (const std::string& d : p.decisions) os << "  " << d << "\n";
    for (const ir::ProgramStep& s : p.steps) {
      if (s.kind == ir::ProgramStep::Kind::kNode) {
        os << "library %" << s.node << "\n";
        continue;
      }
      os << ir::to_string(s.kernel) << "  sizes " << s.launch.sizes << "\n";
      for (size_t a = 0; a < s.arg_values.size(); ++a)
        os << "  arg" << a << " = %" << s.arg_values[a] << " strides " << s.launch.strides[a]
           << " offset " << s.launch.offsets[a] << "\n";
    }
    return os.str();
  } catch (const std::exception& e) {
    return std::string("lowering threw: ") + e.what() + "\n";
  }
}

std::string first_difference(DType dtype, const BufferPtr& want, const BufferPtr& got) {
  using backends::interp::testing::decode;
  const std::vector<double> w = decode(dtype, want), g = decode(dtype, got);
  const size_t size = itemsize(dtype);
  for (size_t i = 0; i < w.size(); ++i)
    if (std::memcmp(static_cast<const char*>(want->data()) + i * size,
                    static_cast<const char*>(got->data()) + i * size, size) != 0) {
      std::ostringstream os;
      os.precision(17);
      os << "element " << i << ": interpreter " << w[i] << ", loops " << g[i];
      return os.str();
    }
  return "";
}

// "" when both backends agree on the graph of `seed`; otherwise what differs.
std::string check(uint64_t seed, const RandomGraphOptions& options,
                  std::vector<int64_t>& op_counts) {
  const RandomGraph rg = random_graph(seed, options);
  const ir::Graph& g = rg.graph;
  for (const ir::Node& n : g.nodes()) ++op_counts[static_cast<size_t>(n.op)];
  if (auto s = ir::verify(g); !s.ok())
    return "the generator built an invalid graph: " + s.ToString();
  auto reparsed = ir::parse_graph(ir::to_string(g));
  if (!reparsed.ok() || ir::to_string(*reparsed) != ir::to_string(g))
    return "the graph text does not round-trip, so it cannot replay this failure";
  const std::vector<BufferPtr> inputs = random_inputs(rg, seed);
  std::vector<BufferPtr> want, got;
  try {
    want = backends::interp::Interpreter().run(g, inputs);
  } catch (const std::exception& e) {
    return std::string("the interpreter threw (a generator bug): ") + e.what();
  }
  try {
    got = backends::interp::LoopBackend().run(g, inputs);
  } catch (const std::exception& e) {
    return std::string("LoopBackend threw: ") + e.what();
  }
  if (got.size() != want.size()) return "LoopBackend returned the wrong number of outputs";
  for (size_t i = 0; i < want.size(); ++i) {
    const ir::TensorType& t = g.node(g.outputs()[i]).type;
    if (got[i]->nbytes() != want[i]->nbytes())
      return "output " + std::to_string(i) + " has the wrong size";
    if (want[i]->nbytes() > 0 &&
        std::memcmp(want[i]->data(), got[i]->data(), want[i]->nbytes()) != 0)
      return "output " + std::to_string(i) + " (" + ir::to_string(t) +
             ") differs: " + first_difference(t.dtype, want[i], got[i]);
  }
  return "";
}

// Runs KILN_FUZZ_GRAPHS (default `count`) graphs of `options` from seed KILN_FUZZ_SEED (default
// 1); reports the first five failures with what replays them. Returns how often each op ran.
std::vector<int64_t> fuzz(const char* test, const RandomGraphOptions& options, uint64_t count) {
  const uint64_t first = env_or("KILN_FUZZ_SEED", 1);
  count = env_or("KILN_FUZZ_GRAPHS", count);
  std::vector<int64_t> op_counts(static_cast<size_t>(ir::kNumOps), 0);
  int failures = 0;
  for (uint64_t i = 0; i < count && failures < 5; ++i) {
    const uint64_t seed = first + i;
    std::string error;
    try {
      error = check(seed, options, op_counts);
    } catch (const std::exception& e) {
      error = std::string("threw: ") + e.what();
    }
    if (error.empty()) continue;
    ++failures;
    const ir::Graph g = random_graph(seed, options).graph;
    ADD_FAILURE() << "seed " << seed << ": " << error << "\nreplay: KILN_FUZZ_SEED=" << seed
                  << " KILN_FUZZ_GRAPHS=1 kiln_interp_tests --gtest_filter='LoopDifferential."
                  << test << "'\n"
                  << ir::to_string(g) << "lowered:\n"
                  << program_text(g);
  }
  std::cout << "[ fuzzer   ] " << test << ": " << count << " graphs from seed " << first << ", "
            << failures << " failures\n";
  return op_counts;
}

TEST(LoopDifferential, RandomGraphsMatchTheInterpreterBitForBit) {
  const std::vector<int64_t> op_counts =
      fuzz("RandomGraphsMatchTheInterpreterBitForBit", RandomGraphOptions{}, 5000);
  // The generator must keep reaching every op (a default run covers each many times).
  if (env_or("KILN_FUZZ_GRAPHS", 5000) >= 2000) {
    for (int op = 0; op < ir::kNumOps; ++op)
      EXPECT_GT(op_counts[static_cast<size_t>(op)], 0)
          << ir::op_name(static_cast<ir::Op>(op)) << " never generated";
  }
}

TEST(LoopDifferential, LargerShapes) {
  // Sizes up to 9: reductions over more than 16 elements, where the interpreter's pairwise
  // summation splits into a tree that the kernel must reproduce exactly.
  RandomGraphOptions options;
  options.max_rank = 3;
  options.max_size = 9;
  options.max_ops = 20;
  fuzz("LargerShapes", options, 500);
}

}  // namespace
}  // namespace kiln::testing
