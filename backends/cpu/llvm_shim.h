// The differences between the LLVM versions kiln builds against (14, as Debian 12 installs it,
// and 19), in one place keyed on LLVM_VERSION_MAJOR, so that the JIT code reads the same for
// both. Internal to the CPU backend's .cpp files: never include it from a header that kiln
// installs or that other layers see.
#pragma once

#include <cstdint>

#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/CodeGen.h"
#include "llvm/Target/TargetMachine.h"

#if LLVM_VERSION_MAJOR >= 17
#include "llvm/TargetParser/Triple.h"
#else
#include "llvm/ADT/Triple.h"
#endif
#if LLVM_VERSION_MAJOR >= 18
#include "llvm/Frontend/Driver/CodeGenOptions.h"
#endif

#if LLVM_VERSION_MAJOR < 14
#error "kiln needs LLVM 14 or newer"
#endif

namespace kiln::backends::cpu::shim {

// The result type of LLJIT::lookup: JITEvaluatedSymbol in 14, ExecutorAddr from 15 on.
#if LLVM_VERSION_MAJOR >= 15
using LookupResult = llvm::orc::ExecutorAddr;
inline std::uint64_t address_of(const LookupResult& symbol) { return symbol.getValue(); }
#else
using LookupResult = llvm::JITEvaluatedSymbol;
inline std::uint64_t address_of(const LookupResult& symbol) { return symbol.getAddress(); }
#endif

// Code generation: the enums became scoped enum classes in 18.
#if LLVM_VERSION_MAJOR >= 18
inline constexpr llvm::CodeGenFileType kObjectFile = llvm::CodeGenFileType::ObjectFile;
inline constexpr llvm::CodeGenOptLevel kAggressive = llvm::CodeGenOptLevel::Aggressive;
#else
inline constexpr llvm::CodeGenFileType kObjectFile = llvm::CGFT_ObjectFile;
inline constexpr llvm::CodeGenOpt::Level kAggressive = llvm::CodeGenOpt::Aggressive;
#endif

// Maps libm calls and intrinsics (expf, llvm.exp.f32, ...) to glibc's libmvec vector variants
// (_ZGVdN8v_expf: AVX2, 8 lanes) for the loop vectorizer. The enum moved to llvm::driver in 18
// and the call takes the target triple since then.
inline void add_libmvec(llvm::TargetLibraryInfoImpl& tlii, const llvm::Triple& triple) {
#if LLVM_VERSION_MAJOR >= 18
  tlii.addVectorizableFunctionsFromVecLib(llvm::driver::VectorLibrary::LIBMVEC_X86, triple);
#else
  (void)triple;
  tlii.addVectorizableFunctionsFromVecLib(llvm::TargetLibraryInfoImpl::LIBMVEC_X86);
#endif
}

}  // namespace kiln::backends::cpu::shim
