// A seeded generator of random valid IR graphs and their input data, for differential tests
// (the same graph on two backends must give the same bytes).
//
// Every graph it builds type-checks (nodes are appended through Graph::add) and is safe to run
// on the reference interpreter: integer divisors are made nonzero, index tensors hold in-range
// values, amax/amin/argmax/argmin never reduce an empty extent. So any exception while running
// one is a bug in the code under test, not in the graph.
//
// The generator is deterministic for a seed on every platform (its own splitmix64 stream, no
// std:: distributions), so a failing seed printed by a test replays anywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/backends/backend.h"
#include "kiln/ir/graph.h"

namespace kiln::testing {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, n) (n > 0).
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) { return lo + below(hi - lo + 1); }
  // True with probability percent / 100.
  bool chance(int percent) { return below(100) < percent; }
  double uniform();  // [0, 1)

 private:
  uint64_t state_;
};

// What the data of one graph input must look like.
struct InputSpec {
  ir::TensorType type;
  // Index tensors: values in [-index_bound, index_bound) (0: an ordinary input, any values).
  int64_t index_bound = 0;
};

struct RandomGraph {
  ir::Graph graph;
  std::vector<InputSpec> inputs;  // by input index
};

struct RandomGraphOptions {
  int min_ops = 1;
  int max_ops = 30;
  int max_rank = 4;
  int64_t max_size = 5;
  // Only computations that a compiled backend reproduces bit for bit: transcendental functions
  // (exp, log, sin, tanh, pow, erf, ...) of floats become neg or mul, and floating sums,
  // products and matmuls (whose order of additions a compiled backend may change) take their
  // operands cast to int64 first.
  bool exact_float_math = false;
};

// A random graph of min_ops..max_ops operations (helper casts, reshapes and expands that make
// operands compatible count too; the step that reaches the target may add a few more) with one
// to three outputs.
RandomGraph random_graph(uint64_t seed, const RandomGraphOptions& options = {});

// Random data for every input of `g` (special float values, wrapping integers, 0/1 bools and
// in-range indices), reproducible from `seed`.
std::vector<backends::BufferPtr> random_inputs(const RandomGraph& g, uint64_t seed);

}  // namespace kiln::testing
