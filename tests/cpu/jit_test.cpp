#include "kiln/backends/cpu/jit.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "cpu/test_kernels.h"
#include "gtest/gtest.h"
#include "kiln/runtime/error.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::backends::cpu {
namespace {

using testing::build_exp_kernel;
using testing::build_invalid_module;
using testing::build_unresolved_module;
using testing::expect_exp_kernel_works;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no kiln::Error thrown)";
}

TEST(Jit, DescribesTheHost) {
  const HostTarget& host = Jit::instance().host();
  EXPECT_NE(host.triple.find("x86_64"), std::string::npos) << host.triple;
  EXPECT_FALSE(host.cpu.empty());
  const std::vector<std::string> features = absl::StrSplit(host.features, ',');
  EXPECT_TRUE(std::is_sorted(features.begin(), features.end()));
  std::cout << "host: " << host.triple << ", cpu " << host.cpu << ", " << features.size()
            << " features, libmvec " << (Jit::instance().has_libmvec() ? "yes" : "no") << "\n";
}

TEST(Jit, CompilesAndRunsExpKernel) {
  void* address = Jit::instance().compile(build_exp_kernel("jit_exp"), "jit_exp");
  expect_exp_kernel_works(address);
}

TEST(Jit, KernelHonoursItsRange) {
  auto kernel = reinterpret_cast<testing::ExpKernel>(
      Jit::instance().compile(build_exp_kernel("jit_range"), "jit_range"));
  const std::vector<float> in = testing::exp_inputs(64);
  std::vector<float> out(64, -1.f);
  kernel(out.data(), in.data(), 5, 37);
  kernel(out.data(), in.data(), 50, 50);  // empty range: touches nothing
  for (int i = 0; i < 64; ++i) {
    if (i < 5 || i >= 37) {
      EXPECT_EQ(out[i], -1.f) << i;
    } else {
      EXPECT_NEAR(out[i], std::exp(in[i]) * 2.f + 1.f, 1e-5f * (std::exp(in[i]) * 2.f + 1.f));
    }
  }
}

TEST(Jit, OptimizedIrCallsVectorExp) {
  Jit& jit = Jit::instance();
  llvm::orc::ThreadSafeModule module = build_exp_kernel("jit_vector_exp");
  std::string ir;
  module.withModuleDo([&](llvm::Module& m) {
    jit.optimize(m);
    llvm::raw_string_ostream stream(ir);
    m.print(stream, nullptr);
  });
  const std::string& features = jit.host().features;
  const bool avx2 = ("," + features + ",").find(",+avx2,") != std::string::npos;
  if (!avx2 || !jit.has_libmvec()) {
    GTEST_SKIP() << "not checking for _ZGVdN8v_expf: "
                 << (avx2 ? "libmvec.so.1 was not found" : "the host has no AVX2");
  }
  EXPECT_NE(ir.find("_ZGVdN8v_expf"), std::string::npos) << ir;
}

TEST(Jit, InvalidIrThrowsKilnError) {
  const std::string message =
      error_of([] { Jit::instance().compile(build_invalid_module("jit_invalid"), "jit_invalid"); });
  EXPECT_NE(message.find("invalid LLVM IR in kernel module 'jit_invalid'"), std::string::npos)
      << message;
  EXPECT_NE(message.find("return type"), std::string::npos) << message;
}

TEST(Jit, UnresolvedSymbolThrowsKilnError) {
  const std::string message = error_of(
      [] { Jit::instance().compile(build_unresolved_module("jit_unresolved"), "jit_unresolved"); });
  EXPECT_NE(message.find("Symbols not found: [ kiln_test_missing_function ]"), std::string::npos)
      << message;
}

TEST(Jit, LoadRejectsGarbageAndMissingSymbols) {
  Jit& jit = Jit::instance();
  EXPECT_NE(error_of([&] { jit.load("definitely not an object file", "k"); }).find("LLVM JIT"),
            std::string::npos);
  const std::string object = jit.compile_to_object(build_exp_kernel("jit_present"));
  const std::string message = error_of([&] { jit.load(object, "jit_absent"); });
  EXPECT_NE(message.find("jit_absent"), std::string::npos) << message;
  // A failed load leaves nothing behind: the object still loads under its real symbol.
  expect_exp_kernel_works(jit.load(object, "jit_present"));
}

TEST(Jit, SameSymbolLoadsTwice) {
  // Each object is linked in a JITDylib of its own, so equal symbols do not clash.
  Jit& jit = Jit::instance();
  void* first = jit.compile(build_exp_kernel("jit_twice", 2.f), "jit_twice");
  void* second = jit.compile(build_exp_kernel("jit_twice", 3.f), "jit_twice");
  EXPECT_NE(first, second);
  expect_exp_kernel_works(first, 2.f);
  expect_exp_kernel_works(second, 3.f);
}

TEST(Jit, CompilesConcurrently) {
  constexpr int kThreads = 4;
  std::vector<void*> addresses(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string symbol = "jit_concurrent_" + std::to_string(t);
      try {
        addresses[t] = Jit::instance().compile(build_exp_kernel(symbol, 1.f + t), symbol);
      } catch (const Error& e) {
        errors[t] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "");
    expect_exp_kernel_works(addresses[t], 1.f + t);
  }
}

}  // namespace
}  // namespace kiln::backends::cpu
