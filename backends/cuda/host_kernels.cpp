#include "kiln/backends/cuda/host_kernels.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/cuda/emulated_driver.h"
#include "kiln/runtime/error.h"

extern char** environ;

namespace kiln::backends::cuda {
namespace {

namespace fs = std::filesystem;

std::string compiler() {
  const char* env = std::getenv("KILN_HOST_CXX");
  return env != nullptr && *env != '\0' ? env : "c++";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs argv[0] (searched on PATH) with stdout and stderr into `log`; its exit status, or -1.
int run(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A private directory for one compile, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-host-cuda-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw Error(absl::StrCat("cuda host module: cannot create a directory under ",
                               fs::temp_directory_path().string()));
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

bool kernels_run_on_host() {
  static const bool on = [] {
    const char* env = std::getenv("KILN_EMULATE_CUDA_KERNELS");
    return runtime::cuda::emulated() && env != nullptr && std::string(env) == "1";
  }();
  return on;
}

std::vector<std::string> kernel_names(std::string_view source) {
  static const std::regex kGlobal(
      R"(__global__\s+void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?([A-Za-z_][A-Za-z_0-9]*)\s*\()");
  std::vector<std::string> names;
  const std::string text(source);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kGlobal);
       it != std::sregex_iterator(); ++it)
    names.push_back((*it)[1].str());
  return names;
}

std::string host_module_id() {
  static const std::string id = [] {
    // FNV-1a of the shim: a changed shim (or launch entry) never loads an older module.
    uint64_t hash = 14695981039346656037ull;
    for (const char ch : host_cuda_shim())
      hash = (hash ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
    ScratchDir dir;
    const fs::path log = dir.path() / "version.txt";
    const std::string cxx = compiler();
    std::string version = "(no --version)";
    if (run({cxx, "--version"}, log) == 0) {
      version = read_file(log);
      version = version.substr(0, version.find('\n'));
    }
    return absl::StrCat(cxx, " ", version, " shim ", absl::Hex(hash), " entry/2");
  }();
  return id;
}

std::string host_module_image(std::string_view source) {
  // Kernels without a barrier run their threads as plain calls (host_shim.cpp).
  const bool fibers = source.find("__syncthreads") != std::string_view::npos ||
                      source.find("__syncwarp") != std::string_view::npos ||
                      source.find("__shfl") != std::string_view::npos;
  std::string text =
      absl::StrCat(sv(host_cuda_shim()), "\n#line 1 \"kernel.cu\"\n", sv(source), "\n");
  for (const std::string& name : kernel_names(source)) {
    absl::StrAppend(&text, "static void kiln_host_body_", name,
                    "(void* args) { kiln_host::invoke(&", name, ", (void**)args); }\n",
                    "extern \"C\" __attribute__((visibility(\"default\"))) int kiln_host_launch_",
                    name,
                    "(const unsigned* grid, const unsigned* block, void** args, char* stacks, "
                    "size_t stack_span, char* error, size_t error_len) {\n"
                    "  return kiln_host::launch(grid, block, ",
                    fibers ? "true" : "false", ", &kiln_host_body_", name,
                    ", args, stacks, stack_span, error, error_len);\n}\n");
  }
  ScratchDir dir;
  const fs::path cpp = dir.path() / "module.cpp", so = dir.path() / "module.so",
                 log = dir.path() / "log.txt";
  {
    std::ofstream out(cpp, std::ios::binary);
    out << text;
    if (!out) throw Error(absl::StrCat("cuda host module: cannot write ", cpp.string()));
  }
  // -ffp-contract=off: no multiply-add contraction (NVRTC's --fmad=false); -fwrapv and
  // -fno-strict-aliasing: the kernels' integer and pointer idioms mean what they do on a GPU.
  const int status = run({compiler(), "-std=c++17", "-O1", "-fPIC", "-shared",
                          "-fvisibility=hidden", "-ffp-contract=off", "-fwrapv",
                          "-fno-strict-aliasing", "-w", "-o", so.string(), cpp.string()},
                         log);
  if (status != 0) {
    std::string output = read_file(log);
    if (output.size() > 4000) output = output.substr(0, 4000) + "\n...";
    throw Error(
        absl::StrCat("cuda host module: ", compiler(), " failed (status ", status, "):\n", output));
  }
  const std::string bytes = read_file(so);
  return absl::StrCat(sv(runtime::cuda::kHostModuleMagic), absl::StrFormat("%016x\n", bytes.size()),
                      bytes);
}

}  // namespace kiln::backends::cuda
