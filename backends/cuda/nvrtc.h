// NVRTC, loaded at run time: dlopen("libnvrtc.so.13"), falling back to "libnvrtc.so", then to
// $KILN_NVRTC_PATH and the toolkit's lib64 under $CUDA_HOME or /usr/local/cuda. NVRTC needs no
// GPU or driver, so generated kernels compile (and are tested) on any machine with the toolkit.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln::backends::cuda {

// True when NVRTC could be loaded (why_nvrtc_unavailable() says why not).
bool nvrtc_available();
std::string why_nvrtc_unavailable();
// NVRTC's version as major * 1000 + minor * 10 (13000 for 13.0); 0 when unavailable.
int nvrtc_version();

struct CompiledModule {
  std::string image;  // a CUBIN (is_cubin) or NUL-terminated PTX text, for cuModuleLoadData
  bool is_cubin = false;
  std::string log;  // NVRTC's compile log (warnings)
};

// How a module compiles, beyond its target.
struct NvrtcFlags {
  // sm_XXa / compute_XXa instead of sm_XX: the architecture's own instructions (Hopper's wgmma
  // and setmaxnreg), code that runs only on exactly that compute capability.
  bool arch_specific = false;
  // Kernels compile with --fmad=false (no multiply-add contraction: the interpreter's results).
  // `fmad` compiles as nvcc does by default (--fmad=true): the random kernels (random_kernels.h)
  // need it to reproduce PyTorch's numbers, since libdevice's log and the Box-Muller transform
  // contract differently under the two settings.
  bool fmad = false;
};

// The options nvrtc_compile passes to NVRTC for these arguments, in order. Whatever stores a
// compile keys it by these (tests/cuda/nvrtc_test_cache.h), so a change here is never answered
// by a stored compile made with the old options.
std::vector<std::string> nvrtc_options(int arch, bool cubin, NvrtcFlags flags);

// Compiles CUDA C `source` (named `name` in diagnostics) for compute capability `arch`
// (90 = sm_90). With `cubin` a CUBIN for sm_XX, else PTX for compute_XX (which the driver
// JIT-compiles for any newer GPU). Throws kiln::Error with NVRTC's log when compilation fails,
// or when NVRTC is unavailable.
CompiledModule nvrtc_compile(std::string_view source, std::string_view name, int arch,
                             bool cubin = true, NvrtcFlags flags = {});

}  // namespace kiln::backends::cuda
