#include "kiln/backends/cuda/nvrtc.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cuda {
namespace {

// The handful of NVRTC types and prototypes used (nvrtc.h's, declared here so that kiln builds
// without the toolkit).
using nvrtcResult = int;
using nvrtcProgram = struct _nvrtcProgram*;
constexpr nvrtcResult NVRTC_SUCCESS = 0;

struct Nvrtc {
  nvrtcResult (*nvrtcVersion)(int*, int*);
  const char* (*nvrtcGetErrorString)(nvrtcResult);
  nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram*, const char*, const char*, int,
                                    const char* const*, const char* const*);
  nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram*);
  nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram, int, const char* const*);
  nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram, char*);
  nvrtcResult (*nvrtcGetPTXSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetPTX)(nvrtcProgram, char*);
  nvrtcResult (*nvrtcGetCUBINSize)(nvrtcProgram, size_t*);
  nvrtcResult (*nvrtcGetCUBIN)(nvrtcProgram, char*);
};

struct Loaded {
  Nvrtc api{};
  bool ok = false;
  std::string why;
  int version = 0;
};

void* open_library(std::string& tried) {
  std::vector<std::string> candidates = {"libnvrtc.so.13", "libnvrtc.so"};
  if (const char* path = std::getenv("KILN_NVRTC_PATH"); path != nullptr && *path != '\0')
    candidates.insert(candidates.begin(), path);
  const char* roots[] = {std::getenv("CUDA_HOME"), std::getenv("CUDA_PATH"), "/usr/local/cuda"};
  for (const char* root : roots) {
    if (root == nullptr || *root == '\0') continue;
    candidates.push_back(absl::StrCat(root, "/lib64/libnvrtc.so.13"));
    candidates.push_back(absl::StrCat(root, "/lib64/libnvrtc.so"));
  }
  for (const std::string& name : candidates) {
    if (void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) return lib;
    absl::StrAppend(&tried, tried.empty() ? "" : ", ", name);
  }
  return nullptr;
}

template <class F>
bool resolve(void* lib, F& slot, const char* name, std::string& why) {
  void* symbol = dlsym(lib, name);
  if (symbol == nullptr) {
    why = absl::StrCat("NVRTC has no entry point ", name);
    return false;
  }
  slot = reinterpret_cast<F>(symbol);
  return true;
}

Loaded load() {
  Loaded l;
  std::string tried;
  void* lib = open_library(tried);  // never closed
  if (lib == nullptr) {
    l.why = absl::StrCat("NVRTC could not be loaded (tried ", tried, ")");
    return l;
  }
  Nvrtc& a = l.api;
  std::string& w = l.why;
  l.ok = resolve(lib, a.nvrtcVersion, "nvrtcVersion", w) &&
         resolve(lib, a.nvrtcGetErrorString, "nvrtcGetErrorString", w) &&
         resolve(lib, a.nvrtcCreateProgram, "nvrtcCreateProgram", w) &&
         resolve(lib, a.nvrtcDestroyProgram, "nvrtcDestroyProgram", w) &&
         resolve(lib, a.nvrtcCompileProgram, "nvrtcCompileProgram", w) &&
         resolve(lib, a.nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize", w) &&
         resolve(lib, a.nvrtcGetProgramLog, "nvrtcGetProgramLog", w) &&
         resolve(lib, a.nvrtcGetPTXSize, "nvrtcGetPTXSize", w) &&
         resolve(lib, a.nvrtcGetPTX, "nvrtcGetPTX", w) &&
         resolve(lib, a.nvrtcGetCUBINSize, "nvrtcGetCUBINSize", w) &&
         resolve(lib, a.nvrtcGetCUBIN, "nvrtcGetCUBIN", w);
  if (l.ok) {
    int major = 0, minor = 0;
    if (a.nvrtcVersion(&major, &minor) == NVRTC_SUCCESS) l.version = major * 1000 + minor * 10;
  }
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load();
  return l;
}

void check(const Nvrtc& api, nvrtcResult r, const char* what) {
  if (r != NVRTC_SUCCESS)
    throw Error(absl::StrCat("NVRTC error in ", what, ": ", api.nvrtcGetErrorString(r)));
}

// Destroys the program on every path.
struct Program {
  const Nvrtc& api;
  nvrtcProgram handle = nullptr;
  ~Program() {
    if (handle != nullptr) api.nvrtcDestroyProgram(&handle);
  }
};

}  // namespace

bool nvrtc_available() { return loaded().ok; }
std::string why_nvrtc_unavailable() { return loaded().ok ? "" : loaded().why; }
int nvrtc_version() { return loaded().ok ? loaded().version : 0; }

std::vector<std::string> nvrtc_options(int arch, bool cubin, NvrtcFlags flags) {
  // The architecture comes first: error messages name it.
  return {absl::StrCat("--gpu-architecture=", cubin ? "sm_" : "compute_", arch,
                       flags.arch_specific ? "a" : ""),
          "--std=c++17", flags.fmad ? "--fmad=true" : "--fmad=false", "-default-device"};
}

CompiledModule nvrtc_compile(std::string_view source, std::string_view name, int arch, bool cubin,
                             NvrtcFlags flags) {
  const Loaded& l = loaded();
  if (!l.ok) throw Error("cannot compile CUDA kernels: " + l.why);
  const Nvrtc& api = l.api;
  const std::string src(source);
  const std::string file = absl::StrCat(sv(name), ".cu");
  Program program{api};
  check(api,
        api.nvrtcCreateProgram(&program.handle, src.c_str(), file.c_str(), 0, nullptr, nullptr),
        "nvrtcCreateProgram");
  const std::vector<std::string> options = nvrtc_options(arch, cubin, flags);
  std::vector<const char*> option_ptrs;
  for (const std::string& o : options) option_ptrs.push_back(o.c_str());
  const nvrtcResult result = api.nvrtcCompileProgram(
      program.handle, static_cast<int>(option_ptrs.size()), option_ptrs.data());
  CompiledModule out;
  size_t log_size = 0;
  if (api.nvrtcGetProgramLogSize(program.handle, &log_size) == NVRTC_SUCCESS && log_size > 1) {
    out.log.resize(log_size);
    api.nvrtcGetProgramLog(program.handle, out.log.data());
    out.log.resize(log_size - 1);
  }
  if (result != NVRTC_SUCCESS)
    throw Error(absl::StrCat("NVRTC could not compile ", sv(name), " for ", options[0], ": ",
                             api.nvrtcGetErrorString(result), "\n", out.log, "\n---- source ----\n",
                             sv(source)));
  size_t size = 0;
  if (cubin) {
    check(api, api.nvrtcGetCUBINSize(program.handle, &size), "nvrtcGetCUBINSize");
    out.image.resize(size);
    check(api, api.nvrtcGetCUBIN(program.handle, out.image.data()), "nvrtcGetCUBIN");
    out.is_cubin = true;
  } else {
    check(api, api.nvrtcGetPTXSize(program.handle, &size), "nvrtcGetPTXSize");
    out.image.resize(size);  // includes the terminating NUL
    check(api, api.nvrtcGetPTX(program.handle, out.image.data()), "nvrtcGetPTX");
  }
  return out;
}

}  // namespace kiln::backends::cuda
