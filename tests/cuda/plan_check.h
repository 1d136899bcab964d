// The host check of a CUDA library step's plan: a KernelRunner that runs the plan's arithmetic
// on the host runs the programs of random graphs, whose outputs must equal the interpreter's
// byte for byte (copy_steps_test.cpp, nvrtc_index_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "interp/random_graph.h"
#include "kiln/backends/interp/interpreter.h"
#include "kiln/backends/interp/loop_evaluator.h"
#include "kiln/backends/program_runner.h"
#include "kiln/passes/lower_program.h"
#include "kiln/runtime/error.h"

namespace kiln::testing {

// Kernels on the loop-IR evaluator; a test's subclass runs the library steps it plans.
class EvaluatorRunner : public backends::KernelRunner {
 public:
  void run(const ir::LoopKernel& kernel, const ir::KernelLaunch& launch,
           absl::Span<void* const> data) override {
    evaluator_.run(kernel, launch, data);
  }

 private:
  backends::interp::LoopEvaluator evaluator_;
};

// Graphs of seeds 1..seeds that the interpreter can run (others throw there and are skipped).
inline void expect_programs_match_interpreter(backends::KernelRunner& runner, uint64_t seeds) {
  backends::interp::Interpreter interpreter;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    SCOPED_TRACE(seed);
    const RandomGraph g = random_graph(seed);
    const std::vector<backends::BufferPtr> inputs = random_inputs(g, seed);
    std::vector<backends::BufferPtr> want;
    try {
      want = interpreter.run(g.graph, inputs);
    } catch (const Error&) {
      continue;
    }
    const ir::Program program = passes::lower_program(g.graph);
    const std::vector<backends::BufferPtr> got =
        backends::run_program(g.graph, program, inputs, runner);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i]->nbytes(), want[i]->nbytes());
      EXPECT_EQ(std::memcmp(got[i]->data(), want[i]->data(), got[i]->nbytes()), 0)
          << "output " << i << " of\n"
          << g.graph;
    }
  }
}

}  // namespace kiln::testing
