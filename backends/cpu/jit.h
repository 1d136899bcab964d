// The process-wide LLVM JIT of the CPU backend: verifies a kernel's LLVM module, optimizes it
// at O3 for the host CPU (with glibc's libmvec for vectorized exp/log), emits object code and
// links that into the process.
//
// Code generation builds each kernel's module with IRBuilder in a context of its own (contexts
// are not thread-safe, so several kernels can be built and compiled at once) and hands both
// over as an llvm::orc::ThreadSafeModule. Compiling produces a relocatable object first and
// links that, so that a kernel compiled now and one read back from the disk cache (see
// kernel_cache.h) take the same path into the process.
//
// This header declares LLVM types but includes no LLVM header: it is installed with kiln's
// headers, and the rest of kiln must not compile against LLVM.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace llvm {
class Module;
namespace orc {
class ThreadSafeModule;
}  // namespace orc
}  // namespace llvm

namespace kiln::backends::cpu {

// What the JIT generates code for; part of every disk-cache key, so an object compiled for
// another CPU (or feature set) is never loaded.
struct HostTarget {
  std::string triple;    // x86_64-pc-linux-gnu
  std::string cpu;       // znver3
  std::string features;  // "+avx2,+fma,-avx512f,...", sorted, so equal sets spell the same

  // Whether `features` enables `name` ("avx2").
  bool has_feature(std::string_view name) const;
};

// Floats in one vector register of `host`: 16 with AVX-512, 8 with AVX, else 4 (SSE2, NEON).
int float_vector_lanes(const HostTarget& host);

class Jit {
 public:
  // The process-wide JIT, created on first use. It is never destroyed: the kernels it hands out
  // must stay callable until the process exits, and static destructors running while a thread
  // pool still executes kernels would unmap their code. Throws kiln::Error if LLVM cannot
  // target the host.
  static Jit& instance();

  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  const HostTarget& host() const;
  // Whether libmvec.so.1 was found. Without it the vectorizer is not told about vector math
  // functions (kernels would fail to link), and exp/log stay scalar.
  bool has_libmvec() const;

  // Prepares `module` for the host in place: sets its target triple and data layout, verifies
  // it, and runs the O3 pipeline. The caller must hold the module's context (no other thread
  // may use that context meanwhile). Throws kiln::Error with the verifier's message if the IR
  // is invalid. Exposed for tests and IR dumps; compile_to_object() does it itself.
  void optimize(llvm::Module& module) const;

  // Verifies and optimizes `module` (see optimize()), then emits a relocatable object file.
  // Thread-safe: modules in distinct contexts compile concurrently. Throws kiln::Error on
  // invalid IR or when code generation fails. KILN_LOG=kernels prints the optimized IR (headed
  // by the module's identifier, which code generation should set to the kernel's symbol),
  // KILN_LOG=time the times taken.
  std::string compile_to_object(llvm::orc::ThreadSafeModule module) const;

  // Links `object` into the process and returns the address of its function `symbol`. Each
  // object gets a JITDylib of its own (resolving libm, libmvec and other process symbols), so
  // two objects defining the same symbol do not clash and a failed link leaves nothing behind.
  // The code stays mapped until the process exits. Thread-safe. Throws kiln::Error if the
  // object is malformed, needs an undefined symbol, or does not define `symbol`.
  void* load(std::string_view object, std::string_view symbol);

  // compile_to_object() followed by load().
  void* compile(llvm::orc::ThreadSafeModule module, std::string_view symbol);

 private:
  struct Impl;
  Jit();
  ~Jit();

  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::backends::cpu
