// Matmul steps on the CpuBackend against the reference interpreter: operands read in place
// through views (transposed, sliced, broadcast over batch dims that do not merge), constants,
// and epilogues run tile by tile (compiled, on the evaluator, after a converting matmul, and
// for an empty k).
#include <array>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cpu/cpu_test_util.h"
#include "gtest/gtest.h"
#include "kiln/runtime/thread_pool.h"

namespace kiln::backends::cpu::testing {
namespace {

// The interpreter accumulates products in double, the blocked matmul in the compute type.
constexpr Tolerance kMatmul{0, 2e-5};

Graph parse(const std::string& text) {
  auto g = ir::parse_graph(text);
  if (!g.ok()) throw std::runtime_error(g.status().ToString());
  return *std::move(g);
}

// relu(x @ w.t() + b) for x: [m, k], w: [n, k], b: [n], in `dtype`.
std::string linear_relu(int64_t m, int64_t k, int64_t n, const std::string& dtype = "f32") {
  return absl::StrReplaceAll(
      absl::StrCat("%0 = input() {index=0} : T[", m, ", ", k, "]\n", "%1 = input() {index=1} : T[",
                   n, ", ", k, "]\n", "%2 = input() {index=2} : T[", n, "]\n",
                   "%3 = permute(%1) {perm=[1, 0]} : T[", k, ", ", n, "]\n",
                   "%4 = matmul(%0, %3) : T[", m, ", ", n, "]\n", "%5 = reshape(%2) {shape=[1, ", n,
                   "]} : T[1, ", n, "]\n", "%6 = expand(%5) {shape=[", m, ", ", n, "]} : T[", m,
                   ", ", n, "]\n", "%7 = add(%4, %6) : T[", m, ", ", n, "]\n", "%8 = relu(%7) : T[",
                   m, ", ", n, "]\n", "return %8\n"),
      {{"T[", absl::StrCat(dtype, "[")}});
}

TEST(MatmulStep, LinearWithBiasAndReluIsOneStepWithAnEpilogue) {
  CpuBackend cpu(test_cache());
  for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{
           {1, 1, 1}, {7, 3, 5}, {64, 100, 33}, {130, 257, 70}, {300, 200, 300}}) {
    const Graph g = parse(linear_relu(m, k, n));
    const CpuBackendStats before = cpu_backend_stats();
    expect_matches_interpreter(
        cpu, g,
        {make_data(float32, m * k, 1, Data::kPositive),
         make_data(float32, n * k, 2, Data::kPositive), make_data(float32, n, 3)},
        kMatmul, absl::StrCat(m, "x", k, "x", n));
    const CpuBackendStats after = cpu_backend_stats();
    EXPECT_EQ(after.matmuls_run - before.matmuls_run, 1u);
    EXPECT_EQ(after.epilogues_run - before.epilogues_run, 1u);
    EXPECT_EQ(after.kernels_compiled_run, before.kernels_compiled_run) << "no separate kernel";
  }
}

TEST(MatmulStep, EpiloguesOnOneThreadAndOnSeveral) {
  // Tall C splits into blocks of rows; short, wide C into groups of columns, and beyond 4096
  // columns into blocks of columns even on one thread: every tile must land where it belongs.
  CpuBackend cpu(test_cache());
  const int threads = runtime::num_threads();
  for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{{200, 150, 260}, {12, 64, 5000}}) {
    const Graph g = parse(linear_relu(m, k, n));
    const std::vector<BufferPtr> inputs = {make_data(float32, m * k, 4, Data::kPositive),
                                           make_data(float32, n * k, 5, Data::kPositive),
                                           make_data(float32, n, 6)};
    for (int t : {1, 2, 3}) {
      runtime::set_num_threads(t);
      expect_matches_interpreter(cpu, g, inputs, kMatmul,
                                 absl::StrCat(m, "x", k, "x", n, " on ", t, " threads"));
    }
  }
  runtime::set_num_threads(threads);
}

TEST(MatmulStep, EveryDTypeWithAnEpilogue) {
  CpuBackend cpu(test_cache());
  for (std::string name : {"f64", "f16", "bf16", "i64", "i32", "i16", "i8", "u8"}) {
    std::string text = linear_relu(9, 17, 13, name);
    const Graph g = parse(text);
    const DType dtype = g.node(0).type.dtype;
    // Half types round every product to 11 or 8 bits in the interpreter too; small integers
    // keep both within a few units of the last place.
    const Tolerance tol = dtype == float64    ? Tolerance{0, 1e-12}
                          : dtype == float16  ? Tolerance{2, 0.0}
                          : dtype == bfloat16 ? Tolerance{2, 0.0}
                                              : Tolerance{};
    expect_matches_interpreter(
        cpu, g,
        {make_data(dtype, 9 * 17, 7, Data::kSmallInts),
         make_data(dtype, 13 * 17, 8, Data::kSmallInts), make_data(dtype, 13, 9, Data::kSmallInts)},
        tol, name);
  }
}

TEST(MatmulStep, AnEpilogueThatDoesNotCompileRunsOnTheEvaluator) {
  // Integer pow is not compiled natively (codegen.h): the epilogue falls back per tile.
  CpuBackend cpu(test_cache());
  const Graph g = parse(
      "%0 = input() {index=0} : i64[40, 30]\n"
      "%1 = input() {index=1} : i64[30, 50]\n"
      "%2 = matmul(%0, %1) : i64[40, 50]\n"
      "%3 = constant() {value=3} : i64[]\n"
      "%4 = reshape(%3) {shape=[1, 1]} : i64[1, 1]\n"
      "%5 = expand(%4) {shape=[40, 50]} : i64[40, 50]\n"
      "%6 = pow(%2, %5) : i64[40, 50]\n"
      "return %6, %2\n");
  const CpuBackendStats before = cpu_backend_stats();
  expect_matches_interpreter(cpu, g,
                             {make_data(int64, 40 * 30, 10, Data::kSmallInts),
                              make_data(int64, 30 * 50, 11, Data::kSmallInts)});
  EXPECT_EQ(cpu_backend_stats().epilogues_run - before.epilogues_run, 1u);
}

TEST(MatmulStep, BroadcastBatchDimsThatDoNotMerge) {
  // a broadcast over dim 1, b over dim 0: no single batch stride describes either, so the
  // step loops over dim 0 and hands dim 1 to each call; the epilogue adds a per-batch bias.
  CpuBackend cpu(test_cache());
  const Graph g = parse(
      "%0 = input() {index=0} : f32[2, 1, 5, 6]\n"
      "%1 = input() {index=1} : f32[1, 3, 6, 7]\n"
      "%2 = input() {index=2} : f32[2, 3, 1, 1]\n"
      "%3 = expand(%0) {shape=[2, 3, 5, 6]} : f32[2, 3, 5, 6]\n"
      "%4 = expand(%1) {shape=[2, 3, 6, 7]} : f32[2, 3, 6, 7]\n"
      "%5 = matmul(%3, %4) : f32[2, 3, 5, 7]\n"
      "%6 = expand(%2) {shape=[2, 3, 5, 7]} : f32[2, 3, 5, 7]\n"
      "%7 = mul(%5, %6) : f32[2, 3, 5, 7]\n"
      "return %7\n");
  const CpuBackendStats before = cpu_backend_stats();
  expect_matches_interpreter(
      cpu, g,
      {make_data(float32, 60, 12, Data::kPositive), make_data(float32, 126, 13, Data::kPositive),
       make_data(float32, 6, 14, Data::kPositive)},
      kMatmul);
  EXPECT_EQ(cpu_backend_stats().epilogues_run - before.epilogues_run, 1u);
}

TEST(MatmulStep, TransposedSlicedAndConstantOperands) {
  CpuBackend cpu(test_cache());
  const Graph g = parse(
      "%0 = input() {index=0} : f64[12, 5]\n"
      "%1 = slice(%0) {dim=0, start=1, stop=12, step=3} : f64[4, 5]\n"
      "%2 = permute(%1) {perm=[1, 0]} : f64[5, 4]\n"
      "%3 = constant() {value=0.25} : f64[]\n"
      "%4 = reshape(%3) {shape=[1, 1]} : f64[1, 1]\n"
      "%5 = expand(%4) {shape=[4, 3]} : f64[4, 3]\n"
      "%6 = matmul(%2, %5) : f64[5, 3]\n"
      "%7 = matmul(%2, %1) : f64[5, 5]\n"
      "return %6, %7\n");
  expect_matches_interpreter(cpu, g, {make_data(float64, 60, 15, Data::kModerate)},
                             Tolerance{0, 1e-12});
}

TEST(MatmulStep, AnEmptyInnerDimensionStillRunsTheEpilogue) {
  CpuBackend cpu(test_cache());
  const Graph g = parse(
      "%0 = input() {index=0} : f32[3, 0]\n"
      "%1 = input() {index=1} : f32[0, 4]\n"
      "%2 = matmul(%0, %1) : f32[3, 4]\n"
      "%3 = exp(%2) : f32[3, 4]\n"
      "return %3\n");
  expect_matches_interpreter(cpu, g, {make_data(float32, 0, 16), make_data(float32, 0, 17)});
}

}  // namespace
}  // namespace kiln::backends::cpu::testing
