// Square float32 matmul, n = 64 ... 2048: kiln, LibTorch (Debian's build calls the reference
// BLAS, libblas3) and, when installed, OpenBLAS's cblas_sgemm loaded at run time.
//
// kiln's matmul may still take a slow path; so that one size cannot eat the whole run, a kiln
// size whose projected time per product (from the largest size measured, scaled by n^3)
// passes KILN_BENCH_MATMUL_MAX_SECONDS (default 20) is skipped and reported as such.
#include <ATen/ATen.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <kiln/kiln.h>

#include "bench_common.h"

namespace kiln_bench {
namespace {

constexpr int64_t kSizes[] = {64, 128, 256, 512, 1024, 2048};

// Each benchmark runs for at least this long (Google Benchmark picks the iteration count), so
// fast products get many runs and a slow one (seconds) a single run.
constexpr double kMinSeconds = 0.3;

std::string key(int64_t n, const std::string& who) {
  return "matmul" + std::to_string(n) + "." + who;
}

double max_seconds() {
  const char* env = std::getenv("KILN_BENCH_MATMUL_MAX_SECONDS");
  return env != nullptr && *env != '\0' ? std::atof(env) : 20.0;
}

// ---- OpenBLAS through dlopen (so that building needs no OpenBLAS) ----
constexpr int kCblasRowMajor = 101;
constexpr int kCblasNoTrans = 111;
using SgemmFn = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float* a, int lda, const float* b, int ldb, float beta, float* c,
                         int ldc);
using SetThreadsFn = void (*)(int threads);

struct OpenBlas {
  SgemmFn sgemm = nullptr;
  SetThreadsFn set_threads = nullptr;
  std::string library;
  std::string error;
};

// $KILN_BENCH_OPENBLAS names the library to load, default libopenblas.so.0.
const OpenBlas& openblas() {
  static const OpenBlas loaded = [] {
    OpenBlas o;
    const char* env = std::getenv("KILN_BENCH_OPENBLAS");
    o.library = env != nullptr && *env != '\0' ? env : "libopenblas.so.0";
    void* handle = dlopen(o.library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      o.error = why != nullptr ? why : "dlopen failed";
      return o;
    }
    o.sgemm = reinterpret_cast<SgemmFn>(dlsym(handle, "cblas_sgemm"));
    o.set_threads = reinterpret_cast<SetThreadsFn>(dlsym(handle, "openblas_set_num_threads"));
    if (o.sgemm == nullptr) o.error = o.library + " has no cblas_sgemm";
    return o;
  }();
  return loaded;
}

// Checks a few entries of kiln's product against double-precision dot products.
bool check_product(benchmark::State& state, const kiln::Tensor& a, const kiln::Tensor& b,
                   const kiln::Tensor& c) {
  const int64_t n = a.size(0);
  const std::vector<float> as = a.tolist<float>(), bs = b.tolist<float>(), cs = c.tolist<float>();
  for (int64_t i : {int64_t{0}, n / 3, n - 1}) {
    for (int64_t j : {int64_t{0}, n / 2, n - 1}) {
      double want = 0;
      for (int64_t t = 0; t < n; ++t)
        want += static_cast<double>(as[i * n + t]) * static_cast<double>(bs[t * n + j]);
      if (std::abs(cs[i * n + j] - want) > 1e-4 * want + 1e-4) {
        state.SkipWithError(
            ("kiln matmul is wrong at (" + std::to_string(i) + ", " + std::to_string(j) + ")")
                .c_str());
        return false;
      }
    }
  }
  return true;
}

void BM_matmul_kiln(benchmark::State& state) {
  const int64_t n = state.range(0);
  double projected = 0;
  // Skip a size that the largest one measured says would run too long (n^3 scaling).
  for (int64_t smaller : kSizes) {
    if (smaller >= n) break;
    if (std::optional<double> t = best(key(smaller, "kiln")))
      projected = *t * std::pow(static_cast<double>(n) / static_cast<double>(smaller), 3);
  }
  if (projected > max_seconds()) {
    char text[160];
    std::snprintf(text, sizeof text,
                  "kiln matmul %lld: skipped, projected %.1f s per product > "
                  "KILN_BENCH_MATMUL_MAX_SECONDS=%g",
                  static_cast<long long>(n), projected, max_seconds());
    note(text);
    state.SkipWithError("skipped: projected time above KILN_BENCH_MATMUL_MAX_SECONDS");
    return;
  }
  const kiln::Tensor a = kiln::rand({n, n});
  const kiln::Tensor b = kiln::rand({n, n});
  // Warm-up (kernel compiles) at the full size while that is cheap; else on a small product.
  const int64_t warm_n = n <= 512 ? n : 64;
  kiln::eval(kiln::matmul(kiln::rand({warm_n, warm_n}), kiln::rand({warm_n, warm_n})));
  const double start = now_seconds();
  const kiln::Tensor c = kiln::matmul(a, b);
  kiln::eval(c);
  const double seconds = now_seconds() - start;
  if (!check_product(state, a, b, c)) return;
  record(key(n, "kiln"), seconds);  // the checked product counts as one more run
  timed_loop(state, key(n, "kiln"), [&] { kiln::eval(kiln::matmul(a, b)); });
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * static_cast<double>(n * n * n) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_matmul_torch(benchmark::State& state) {
  const int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  set_torch_threads(threads);
  const at::Tensor a = at::rand({n, n});
  const at::Tensor b = at::rand({n, n});
  const int64_t warm_n = n <= 512 ? n : 64;
  at::matmul(at::rand({warm_n, warm_n}), at::rand({warm_n, warm_n}));
  timed_loop(state, key(n, "torch" + std::to_string(threads)),
             [&] { benchmark::DoNotOptimize(at::matmul(a, b).data_ptr<float>()); });
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * static_cast<double>(n * n * n) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_matmul_openblas(benchmark::State& state) {
  const OpenBlas& blas = openblas();
  const int n = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  if (blas.set_threads != nullptr) blas.set_threads(threads);
  const size_t count = static_cast<size_t>(n) * static_cast<size_t>(n);
  std::vector<float> a(count, 0.5f), b(count, 0.25f), c(count, 0.0f);
  auto run = [&] {
    blas.sgemm(kCblasRowMajor, kCblasNoTrans, kCblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(),
               n, 0.0f, c.data(), n);
  };
  run();
  timed_loop(state, key(n, "openblas" + std::to_string(threads)), [&] {
    run();
    benchmark::DoNotOptimize(c.data());
  });
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * static_cast<double>(n) * n * n * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

}  // namespace

void register_matmul_benchmarks() {
  const OpenBlas& blas = openblas();
  if (!blas.error.empty()) {
    note("OpenBLAS: absent (" + blas.error +
         "); install libopenblas0 or set KILN_BENCH_OPENBLAS to compare with it");
  } else {
    note("OpenBLAS: " + blas.library +
         (blas.set_threads != nullptr ? "" : " (no openblas_set_num_threads: default threads)"));
  }
  for (int64_t n : kSizes) {
    add_benchmark("matmul/kiln", BM_matmul_kiln)->ArgName("n")->Arg(n)->MinTime(kMinSeconds);
    add_benchmark("matmul/torch", BM_matmul_torch)
        ->ArgNames({"n", "threads"})
        ->Args({n, 1})
        ->Args({n, 2})
        ->MinTime(kMinSeconds);
    if (blas.error.empty()) {
      add_benchmark("matmul/openblas", BM_matmul_openblas)
          ->ArgNames({"n", "threads"})
          ->Args({n, 1})
          ->Args({n, 2})
          ->MinTime(kMinSeconds);
    }
  }
}

}  // namespace kiln_bench
