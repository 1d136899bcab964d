// kiln-cuda-bench: the GPU workloads of issue 7 on kiln's CUDA backend (a fused elementwise
// chain, a softmax over rows, matmuls), with the reference numbers measured in the same
// process: a device-to-device copy (bandwidth) and cuBLAS
// (dlopened: $KILN_CUBLAS_PATH, libcublas.so.13, libcublas.so.12, libcublas.so; skipped when
// none loads). The bfloat16 matmul runs on each of kiln's kernels (KILN_CUDA_MMA: wgmma where
// the device has it, mma.sync, no tensor cores); each row names the kernel that ran and its
// ratio to cuBLAS. Prints one JSON object per line (tools/gpu-check.sh builds its table from them)
// and exits nonzero on any error, or when CUDA is unavailable.
#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kiln/backends/cuda/cuda_backend.h"
#include "kiln/kiln.h"
#include "kiln/runtime/cuda/copy.h"
#include "kiln/runtime/cuda/cuda_allocator.h"
#include "kiln/runtime/cuda/driver.h"

using namespace kiln;
namespace rc = kiln::runtime::cuda;

namespace {

void emit(const std::string& name, double ms, const std::string& metric, double value) {
  std::printf("{\"impl\": \"kiln\", \"workload\": \"%s\", \"ms\": %.4f, \"%s\": %.2f}\n",
              name.c_str(), ms, metric.c_str(), value);
  std::fflush(stdout);
}
// A matmul row: which kernel ran and cuBLAS's time over kiln's (0 without cuBLAS).
void emit(const std::string& name, double ms, const std::string& metric, double value,
          const std::string& kernel, double vs_cublas) {
  std::printf(
      "{\"impl\": \"kiln\", \"workload\": \"%s\", \"ms\": %.4f, \"%s\": %.2f, "
      "\"kernel\": \"%s\", \"vs_cublas\": %.3f}\n",
      name.c_str(), ms, metric.c_str(), value, kernel.c_str(), vs_cublas);
  std::fflush(stdout);
}
void emit_ref(const std::string& impl, const std::string& name, double ms,
              const std::string& metric, double value) {
  std::printf("{\"impl\": \"%s\", \"workload\": \"%s\", \"ms\": %.4f, \"%s\": %.2f}\n",
              impl.c_str(), name.c_str(), ms, metric.c_str(), value);
  std::fflush(stdout);
}

// Milliseconds per call of fn, from device events around `iters` back-to-back calls.
template <class F>
double time_ms(int iters, F&& fn) {
  const rc::Driver& d = rc::require_driver();
  rc::CUevent start = nullptr, stop = nullptr;
  rc::check(d.cuEventCreate(&start, 0), "cuEventCreate");
  rc::check(d.cuEventCreate(&stop, 0), "cuEventCreate");
  fn();  // warm-up (compiles)
  rc::synchronize(0);
  rc::check(d.cuEventRecord(start, nullptr), "cuEventRecord");
  for (int i = 0; i < iters; ++i) fn();
  rc::check(d.cuEventRecord(stop, nullptr), "cuEventRecord");
  rc::check(d.cuEventSynchronize(stop), "cuEventSynchronize");
  float ms = 0;
  rc::check(d.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  d.cuEventDestroy(start);
  d.cuEventDestroy(stop);
  return ms / iters;
}

struct Cublas {
  void* handle = nullptr;
  int (*create)(void**) = nullptr;
  int (*sgemm)(void*, int, int, int, int, int, const float*, const float*, int, const float*, int,
               const float*, float*, int) = nullptr;
  int (*gemm_ex)(void*, int, int, int, int, int, const void*, const void*, int, int, const void*,
                 int, int, const void*, void*, int, int, int, int) = nullptr;
};

bool load_cublas(Cublas& c) {
  std::vector<std::string> names = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};
  if (const char* p = std::getenv("KILN_CUBLAS_PATH"); p && *p) names.insert(names.begin(), p);
  void* lib = nullptr;
  for (const auto& n : names)
    if ((lib = dlopen(n.c_str(), RTLD_NOW | RTLD_GLOBAL)) != nullptr) break;
  if (lib == nullptr) return false;
  c.create = reinterpret_cast<decltype(c.create)>(dlsym(lib, "cublasCreate_v2"));
  c.sgemm = reinterpret_cast<decltype(c.sgemm)>(dlsym(lib, "cublasSgemm_v2"));
  c.gemm_ex = reinterpret_cast<decltype(c.gemm_ex)>(dlsym(lib, "cublasGemmEx"));
  if (!c.create || !c.sgemm || !c.gemm_ex) return false;
  return c.create(&c.handle) == 0;
}

// Softmax over the rows of 4096 x 4096 floats, composed as a user writes it: a row chain (one
// chain kernel, backends/cuda/chain_kernel.h). Bandwidth of one read and one write of the
// matrix, the least any softmax moves. With KILN_ROW_CHAINS=0 (`kiln-cuda-bench softmax` run
// again by gpu-check.sh) the row is `kiln_no_chain`: the same program one kernel per step.
void bench_softmax() {
  const char* chains = std::getenv("KILN_ROW_CHAINS");
  const bool no_chain = chains != nullptr && std::string(chains) == "0";
  const int64_t rows = 4096, cols = 4096;
  const double gb = 2.0 * static_cast<double>(rows * cols) * 4 / 1e9;
  manual_seed(0);
  const Tensor m = randn({rows, cols}).cuda();
  Tensor p;
  const auto before = backends::cuda::cuda_backend_stats();
  // As benchmarks/softmax.cpp writes it: the exp is a temporary, gone before eval, so the
  // passes may recompute it rather than store it.
  auto softmax = [](const Tensor& x) {
    const Tensor e = (x - x.amax({1}, /*keepdim=*/true)).exp();
    return e / e.sum(1, /*keepdim=*/true);
  };
  const double ms = time_ms(10, [&] {
    p = softmax(m);
    eval({p});
  });
  const auto after = backends::cuda::cuda_backend_stats();
  const double row_sum = p[123].sum().item<double>();
  if (std::abs(row_sum - 1.0) > 1e-4) throw Error("softmax row sums to " + std::to_string(row_sum));
  std::printf(
      "{\"impl\": \"%s\", \"workload\": \"softmax_4096x4096_f32\", \"ms\": %.4f, "
      "\"GBps\": %.2f, \"chain_kernels\": %llu, \"kernels\": %llu}\n",
      no_chain ? "kiln_no_chain" : "kiln", ms, gb / (ms / 1e3),
      static_cast<unsigned long long>(after.chain_launches - before.chain_launches),
      static_cast<unsigned long long>(after.kernels_launched - before.kernels_launched));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const bool softmax_only = argc > 1 && std::string(argv[1]) == "softmax";
  try {
    if (!cuda_is_available()) {
      std::fprintf(stderr, "kiln-cuda-bench: CUDA is not available: %s\n",
                   rc::why_unavailable().c_str());
      return 1;
    }
    const rc::DeviceProperties& props = rc::device_properties(0);
    if (softmax_only) {
      bench_softmax();
      return 0;
    }
    std::printf("{\"device\": \"%s\", \"sm\": %d%d, \"sms\": %d}\n", props.name.c_str(),
                props.major, props.minor, props.multiprocessors);

    // 1. Fused elementwise chain on 256M floats vs a device-to-device copy.
    const int64_t n = int64_t{256} << 20;
    const double gb = 2.0 * static_cast<double>(n) * 4 / 1e9;  // read + write
    Tensor x = full({n}, 0.5, {.device = cuda});
    eval({x});
    Tensor y;
    const double chain_ms = time_ms(10, [&] {
      y = ((x * 2 + 1).exp() * x);
      eval({y});
    });
    if (std::abs(y[12345].item<float>() - 0.5f * std::exp(2.0f)) > 1e-4f)
      throw Error("fused chain gave a wrong value");
    emit("chain_256M_f32", chain_ms, "GBps", gb / (chain_ms / 1e3));
    y = Tensor();
    void* src = rc::cuda_allocate(static_cast<size_t>(n) * 4, 0);
    void* dst = rc::cuda_allocate(static_cast<size_t>(n) * 4, 0);
    const double copy_ms =
        time_ms(10, [&] { rc::copy_device_to_device(dst, src, static_cast<size_t>(n) * 4, 0); });
    emit_ref("cuMemcpyDtoD", "chain_256M_f32", copy_ms, "GBps", gb / (copy_ms / 1e3));
    rc::cuda_free(src, static_cast<size_t>(n) * 4, 0);
    rc::cuda_free(dst, static_cast<size_t>(n) * 4, 0);
    x = Tensor();

    // 1b. Softmax over the rows of 4096 x 4096 floats.
    bench_softmax();

    // 2. Matmul 4096 (float32, bfloat16): cuBLAS first, so that every kiln row can carry its
    // ratio to cuBLAS (vs_cublas: cuBLAS's time over kiln's).
    const int64_t s = 4096;
    const double flop = 2.0 * s * s * s;
    double cublas_f32 = 0, cublas_bf16 = 0;
    Cublas cublas;
    if (load_cublas(cublas)) {
      const size_t bytes = static_cast<size_t>(s * s) * 4;
      void* A = rc::cuda_allocate(bytes, 0);
      void* B = rc::cuda_allocate(bytes, 0);
      void* C = rc::cuda_allocate(bytes, 0);
      // Random operands (zeros would let the tensor cores run cooler than on real data).
      std::vector<float> host(static_cast<size_t>(s * s));
      uint32_t state = 12345;
      for (float& v : host) {
        state = state * 1664525u + 1013904223u;
        v = static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
      }
      rc::copy_host_to_device(A, host.data(), bytes, 0);
      rc::copy_host_to_device(B, host.data(), bytes, 0);
      const float one = 1.0f, zero = 0.0f;
      const int si = static_cast<int>(s);
      cublas_f32 = time_ms(5, [&] {
        if (cublas.sgemm(cublas.handle, 0, 0, si, si, si, &one, static_cast<float*>(A), si,
                         static_cast<float*>(B), si, &zero, static_cast<float*>(C), si) != 0)
          throw Error("cublasSgemm failed");
      });
      emit_ref("cublas", "matmul_4096_f32", cublas_f32, "TFLOPS", flop / (cublas_f32 / 1e3) / 1e12);
      cublas_bf16 = time_ms(5, [&] {
        // CUDA_R_16BF = 14, CUBLAS_COMPUTE_32F = 68, CUBLAS_GEMM_DEFAULT = -1
        if (cublas.gemm_ex(cublas.handle, 0, 0, si, si, si, &one, A, 14, si, B, 14, si, &zero, C,
                           14, si, 68, -1) != 0)
          throw Error("cublasGemmEx failed");
      });
      emit_ref("cublas", "matmul_4096_bf16", cublas_bf16, "TFLOPS",
               flop / (cublas_bf16 / 1e3) / 1e12);
      rc::cuda_free(A, bytes, 0);
      rc::cuda_free(B, bytes, 0);
      rc::cuda_free(C, bytes, 0);
    } else {
      std::printf("{\"note\": \"cuBLAS not found (set KILN_CUBLAS_PATH)\"}\n");
    }
    manual_seed(0);
    // Each of kiln's kernels, forced with KILN_CUDA_MMA: bfloat16 on the best kernel for the
    // device (wgmma on sm_90), on mma.sync, and without tensor cores.
    struct Variant {
      DType dtype;
      const char* mma;
      const char* workload;
    };
    // The best kernel runs last: should it fail or hang (the GPU check's time limit), the
    // other rows are already out. KILN_BENCH_SKIP_BEST=1 leaves it out (gpu-check.sh sets it
    // when the wgmma tests failed).
    const Variant variants[] = {
        {float32, "1", "matmul_4096_f32"},
        {bfloat16, "sync", "matmul_4096_bf16_mma_sync"},
        {bfloat16, "0", "matmul_4096_bf16_no_tensor_cores"},
        {bfloat16, "wgmma", "matmul_4096_bf16"},
    };
    const char* skip_best = std::getenv("KILN_BENCH_SKIP_BEST");
    for (const Variant& v : variants) {
      if (std::string(v.mma) == "wgmma" && skip_best != nullptr && std::string(skip_best) == "1") {
        std::printf("{\"note\": \"%s skipped (KILN_BENCH_SKIP_BEST=1)\"}\n", v.workload);
        continue;
      }
      const DType t = v.dtype;
      setenv("KILN_CUDA_MMA", v.mma, 1);
      const Tensor a = randn({s, s}).to(t).cuda(), b = randn({s, s}).to(t).cuda();
      Tensor c;
      const backends::cuda::CudaBackendStats before = backends::cuda::cuda_backend_stats();
      const double ms = time_ms(5, [&] {
        c = matmul(a, b);
        eval({c});
      });
      const backends::cuda::CudaBackendStats after = backends::cuda::cuda_backend_stats();
      const char* kernel = after.wgmma_matmuls > before.wgmma_matmuls ? "wgmma"
                           : after.mma_matmuls > before.mma_matmuls   ? "mma.sync"
                                                                      : "tiled";
      const double ref = t == float32 ? cublas_f32 : cublas_bf16;
      emit(v.workload, ms, "TFLOPS", flop / (ms / 1e3) / 1e12, kernel, ref > 0 ? ref / ms : 0);
      // spot check one entry against a float64 dot product on the host
      const Tensor dot = (a[7].cpu().to(float64) * b.t()[9].cpu().to(float64)).sum();
      const double got = c[7][9].item<double>(), want = dot.item<double>();
      if (std::abs(got - want) > (t == float32 ? 1e-3 : 5e-2) * (8 + std::abs(want)))
        throw Error(std::string(v.workload) + " gave a wrong value: " + std::to_string(got) +
                    " vs " + std::to_string(want));
    }
    unsetenv("KILN_CUDA_MMA");
    rc::synchronize(0);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln-cuda-bench: FAILED: %s\n", e.what());
    return 1;
  }
}
