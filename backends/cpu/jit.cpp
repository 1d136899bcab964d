#include "kiln/backends/cpu/jit.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kiln/backends/cpu/llvm_shim.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/log.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::backends::cpu {
namespace {

// LLVM reports failures as llvm::Error / llvm::Expected and is built without exceptions, so no
// exception may unwind through its frames. Failures are converted here, in kiln's frames, into
// kiln::Error carrying LLVM's message.
[[noreturn]] void fail(std::string_view what, llvm::Error error) {
  throw Error(absl::StrCat("LLVM JIT: ", sv(what), ": ", llvm::toString(std::move(error))));
}

template <typename T>
T take(llvm::Expected<T> value, std::string_view what) {
  if (!value) fail(what, value.takeError());
  return std::move(*value);
}

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Errors met while linking (unresolved symbols, say) are handed to the ExecutionSession's
// error reporter, and the lookup that triggered the link only says "Failed to materialize".
// Linking runs on the thread that asks for the symbol (LLJIT without compile threads
// dispatches in place), so the reporter collects the details per thread for load() to quote.
thread_local std::string session_errors;

void report_session_error(llvm::Error error) {
  // Called from LLVM's frames: nothing may escape.
  try {
    const std::string text = llvm::toString(std::move(error));
    if (!session_errors.empty()) session_errors += "; ";
    session_errors += text;
  } catch (...) {
  }
}

void initialize_llvm_once() {
  static std::once_flag once;
  static bool failed = false;
  std::call_once(once, [] {
    // These return true on failure.
    failed = llvm::InitializeNativeTarget() || llvm::InitializeNativeTargetAsmPrinter() ||
             llvm::InitializeNativeTargetAsmParser();
  });
  if (failed) throw Error("LLVM JIT: LLVM has no code generator for this host");
}

// Runtime unrolling is LLVM's unrolling of loops whose trip count is known only at run time.
// The default pipeline turns it on wherever the CPU's scheduling model has a loop buffer (every
// x86 model), and no PipelineTuningOptions field turns it off, so it is the one command-line
// option set here. For kiln's kernels it roughly doubled the compile time (a 64-lane row
// sum: 0.42 s -> 0.14 s of optimization and code generation with it off; 11 typical kernels
// 1,190 -> 655 ms) and measured no faster: their hot loops are vectorized and interleaved by
// the loop vectorizer already, and loops of constant trip count are still fully unrolled
// (docs/architecture.md, "Compile time"). Options are process-wide; an unknown one (a future
// LLVM renaming it) leaves LLVM's default and is not an error.
void configure_llvm_options_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* const argv[] = {"kiln", "-unroll-runtime=false"};
    std::string problems;
    llvm::raw_string_ostream errors(problems);
    if (!llvm::cl::ParseCommandLineOptions(2, argv, "", &errors) && runtime::log_enabled("kernels"))
      runtime::log_line("kernels", absl::StrCat("LLVM options not set: ", errors.str()));
  });
}

HostTarget describe(const llvm::orc::JITTargetMachineBuilder& jtmb) {
  std::vector<std::string> features = jtmb.getFeatures().getFeatures();
  std::sort(features.begin(), features.end());
  return HostTarget{jtmb.getTargetTriple().str(), jtmb.getCPU(), absl::StrJoin(features, ",")};
}

}  // namespace

struct Jit::Impl {
  explicit Impl(llvm::orc::JITTargetMachineBuilder builder)
      : jtmb(std::move(builder)), host(describe(jtmb)) {}

  // One TargetMachine per compile: a TargetMachine must not be used by two threads at once,
  // and creating one costs far less than the pipeline that uses it.
  std::unique_ptr<llvm::TargetMachine> target_machine() const {
    llvm::orc::JITTargetMachineBuilder copy = jtmb;
    return take(copy.createTargetMachine(), "cannot create a TargetMachine for the host");
  }

  void optimize(llvm::Module& module, llvm::TargetMachine& tm) const;
  std::string emit_object(llvm::Module& module, llvm::TargetMachine& tm) const;

  llvm::orc::JITTargetMachineBuilder jtmb;
  HostTarget host;
  bool libmvec = false;
  std::unique_ptr<llvm::orc::LLJIT> lljit;
  std::atomic<uint64_t> dylibs{0};
};

void Jit::Impl::optimize(llvm::Module& module, llvm::TargetMachine& tm) const {
  module.setTargetTriple(tm.getTargetTriple().str());
  module.setDataLayout(tm.createDataLayout());

  // Debian's LLVM is built without assertions: passes given invalid IR crash or miscompile
  // instead of stopping, so the verifier runs first.
  std::string problems;
  llvm::raw_string_ostream problems_stream(problems);
  if (llvm::verifyModule(module, &problems_stream)) {
    problems_stream.flush();
    throw Error(absl::StrCat("LLVM JIT: invalid LLVM IR in kernel module '",
                             sv(module.getModuleIdentifier()), "': ", sv(problems)));
  }

  // The library info must outlive the analysis managers that refer to it.
  const llvm::Triple triple(module.getTargetTriple());
  llvm::TargetLibraryInfoImpl library_info(triple);
  if (libmvec) shim::add_libmvec(library_info, triple);

  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager cgscc;
  llvm::ModuleAnalysisManager modules;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  tuning.LoopInterleaving = true;
  // With the TargetMachine the vectorizer gets the host's cost model; without it, it assumes
  // a generic target and barely vectorizes.
  llvm::PassBuilder builder(&tm, tuning);
  // Registered before the defaults, so that this TargetLibraryAnalysis (with the vector math
  // mappings) is the one the passes see.
  functions.registerPass([&] { return llvm::TargetLibraryAnalysis(library_info); });
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(cgscc);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, cgscc, modules);
  llvm::ModulePassManager pipeline =
      builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  pipeline.run(module, modules);
}

std::string Jit::Impl::emit_object(llvm::Module& module, llvm::TargetMachine& tm) const {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream stream(buffer);
  // Code generation still runs on the legacy pass manager in LLVM 14 (and 19).
  llvm::legacy::PassManager passes;
  llvm::TargetLibraryInfoImpl library_info(llvm::Triple(module.getTargetTriple()));
  passes.add(new llvm::TargetLibraryInfoWrapperPass(library_info));
  if (tm.addPassesToEmitFile(passes, stream, nullptr, shim::kObjectFile)) {
    throw Error("LLVM JIT: the host TargetMachine cannot emit object files");
  }
  passes.run(module);
  return std::string(buffer.begin(), buffer.end());
}

Jit& Jit::instance() {
  // Deliberately never destroyed (see the header). A throwing constructor leaves the static
  // uninitialized, so a later call tries again.
  static Jit* const jit = new Jit();
  return *jit;
}

Jit::Jit() {
  const Clock::time_point start = Clock::now();
  initialize_llvm_once();
  configure_llvm_options_once();
  llvm::orc::JITTargetMachineBuilder jtmb =
      take(llvm::orc::JITTargetMachineBuilder::detectHost(), "cannot detect the host target");
  jtmb.setCodeGenOptLevel(shim::kAggressive);
  auto impl = std::make_unique<Impl>(jtmb);
  impl->lljit = take(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create(),
                     "cannot create the JIT");

  impl->lljit->getExecutionSession().setErrorReporter(report_session_error);

  // Kernels call libm (expf, logf, ...) and, once vectorized, libmvec (_ZGVdN8v_expf, ...):
  // resolve them from what the process has loaded, and from libmvec.so.1, which the process
  // usually has not.
  llvm::orc::JITDylib& main = impl->lljit->getMainJITDylib();
  const char prefix = impl->lljit->getDataLayout().getGlobalPrefix();
  main.addGenerator(take(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix),
                         "cannot search the process for symbols"));
  llvm::Expected<std::unique_ptr<llvm::orc::DynamicLibrarySearchGenerator>> libmvec =
      llvm::orc::DynamicLibrarySearchGenerator::Load("libmvec.so.1", prefix);
  if (libmvec) {
    main.addGenerator(std::move(*libmvec));
    impl->libmvec = true;
  } else {
    const std::string why = llvm::toString(libmvec.takeError());
    if (runtime::log_enabled("kernels")) {
      runtime::log_line("kernels",
                        absl::StrCat("libmvec.so.1 not loaded, exp/log stay scalar: ", why));
    }
  }
  impl_ = std::move(impl);
  if (runtime::log_enabled("time")) {
    runtime::log_line("time",
                      absl::StrFormat("jit: created for %s (%s) in %.2f ms", impl_->host.cpu,
                                      impl_->host.triple, ms_since(start)));
  }
}

Jit::~Jit() = default;

bool HostTarget::has_feature(std::string_view name) const {
  // `features` is "+a,+b,-c,...": look for "+name" followed by ',' or the end.
  const std::string needle = absl::StrCat("+", sv(name));
  for (size_t at = features.find(needle); at != std::string::npos;
       at = features.find(needle, at + 1)) {
    const size_t end = at + needle.size();
    if ((at == 0 || features[at - 1] == ',') && (end == features.size() || features[end] == ','))
      return true;
  }
  return false;
}

int float_vector_lanes(const HostTarget& host) {
  if (host.triple.rfind("x86_64", 0) != 0) return 4;
  if (host.has_feature("avx512f")) return 16;
  return host.has_feature("avx") ? 8 : 4;
}

const HostTarget& Jit::host() const { return impl_->host; }

bool Jit::has_libmvec() const { return impl_->libmvec; }

void Jit::optimize(llvm::Module& module) const {
  std::unique_ptr<llvm::TargetMachine> tm = impl_->target_machine();
  impl_->optimize(module, *tm);
}

std::string Jit::compile_to_object(llvm::orc::ThreadSafeModule module) const {
  if (module.getModuleUnlocked() == nullptr) throw Error("LLVM JIT: no module to compile");
  // The context is the module's alone; holding its lock makes the hand-over explicit should the
  // caller keep another reference to it.
  llvm::orc::ThreadSafeContext::Lock lock = module.getContext().getLock();
  llvm::Module& m = *module.getModuleUnlocked();
  const std::string name = m.getModuleIdentifier();

  const Clock::time_point start = Clock::now();
  std::unique_ptr<llvm::TargetMachine> tm = impl_->target_machine();
  impl_->optimize(m, *tm);
  const double optimize_ms = ms_since(start);
  if (runtime::log_enabled("kernels")) {
    std::string text;
    llvm::raw_string_ostream stream(text);
    m.print(stream, nullptr);
    stream.flush();
    runtime::log_line("kernels", absl::StrCat("optimized LLVM IR of ", sv(name), "\n", sv(text)));
  }

  const Clock::time_point codegen_start = Clock::now();
  std::string object = impl_->emit_object(m, *tm);
  if (runtime::log_enabled("time")) {
    runtime::log_line("time",
                      absl::StrFormat("jit: compiled %s: optimize %.2f ms, codegen %.2f ms, "
                                      "%d bytes of object code",
                                      name, optimize_ms, ms_since(codegen_start), object.size()));
  }
  return object;
}

void* Jit::load(std::string_view object, std::string_view symbol) {
  const Clock::time_point start = Clock::now();
  llvm::orc::LLJIT& lljit = *impl_->lljit;
  const std::string dylib_name = absl::StrCat("kiln.", sv(symbol), ".", impl_->dylibs++);
  llvm::Expected<llvm::orc::JITDylib&> created = lljit.createJITDylib(dylib_name);
  if (!created) fail("cannot create a JITDylib", created.takeError());
  llvm::orc::JITDylib& dylib = *created;
  // libm, libmvec and the process are found through the main JITDylib's generators.
  dylib.addToLinkOrder(lljit.getMainJITDylib());

  std::string failure;
  uint64_t address = 0;
  session_errors.clear();
  std::unique_ptr<llvm::MemoryBuffer> buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(object.data(), object.size()), dylib_name);
  if (llvm::Error error = lljit.addObjectFile(dylib, std::move(buffer))) {
    failure = llvm::toString(std::move(error));
  } else {
    // The lookup links the object: relocations and external symbols are resolved here.
    llvm::Expected<shim::LookupResult> found =
        lljit.lookup(dylib, llvm::StringRef(symbol.data(), symbol.size()));
    if (found) {
      address = shim::address_of(*found);
      if (address == 0) failure = "the symbol has address 0";
    } else {
      failure = llvm::toString(found.takeError());
    }
  }
  if (!failure.empty()) {
    if (!session_errors.empty()) failure = absl::StrCat(session_errors, " (", failure, ")");
    session_errors.clear();
    // Drop the half-loaded object so that nothing refers to it; a failure here only leaks.
    llvm::consumeError(lljit.getExecutionSession().removeJITDylib(dylib));
    throw Error(absl::StrCat("LLVM JIT: cannot load kernel '", sv(symbol), "': ", sv(failure)));
  }
  if (runtime::log_enabled("time")) {
    runtime::log_line("time", absl::StrFormat("jit: loaded %s in %.3f ms (%d bytes)", symbol,
                                              ms_since(start), object.size()));
  }
  return reinterpret_cast<void*>(static_cast<uintptr_t>(address));
}

void* Jit::compile(llvm::orc::ThreadSafeModule module, std::string_view symbol) {
  const std::string object = compile_to_object(std::move(module));
  return load(object, symbol);
}

}  // namespace kiln::backends::cpu
