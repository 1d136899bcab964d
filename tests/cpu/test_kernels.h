// Hand-built LLVM modules for the JIT and kernel-cache tests, standing in for code generation.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

namespace kiln::backends::cpu::testing {

// The kernel calling convention code generation will use: a range [begin, end) of elements,
// so that a thread pool can run chunks of one kernel concurrently.
using ExpKernel = void (*)(float* out, const float* in, int64_t begin, int64_t end);

// void SYMBOL(float* noalias out, const float* noalias in, i64 begin, i64 end):
//   for (i = begin; i < end; ++i) out[i] = exp(in[i]) * scale + 1
inline llvm::orc::ThreadSafeModule build_exp_kernel(const std::string& symbol, float scale = 2.f) {
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>(symbol, *context);
  llvm::IRBuilder<> b(*context);
  llvm::Type* f32 = b.getFloatTy();
  llvm::Type* i64 = b.getInt64Ty();
  llvm::Type* ptr = f32->getPointerTo();
  auto* type = llvm::FunctionType::get(b.getVoidTy(), {ptr, ptr, i64, i64}, false);
  auto* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, symbol, *module);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  for (unsigned i : {0u, 1u}) {
    fn->addParamAttr(i, llvm::Attribute::NoAlias);
    fn->addParamAttr(i, llvm::Attribute::NoCapture);
  }
  llvm::Value* out = fn->getArg(0);
  llvm::Value* in = fn->getArg(1);
  llvm::Value* begin = fn->getArg(2);
  llvm::Value* end = fn->getArg(3);

  auto* entry = llvm::BasicBlock::Create(*context, "entry", fn);
  auto* loop = llvm::BasicBlock::Create(*context, "loop", fn);
  auto* exit = llvm::BasicBlock::Create(*context, "exit", fn);
  b.SetInsertPoint(entry);
  b.CreateCondBr(b.CreateICmpSLT(begin, end), loop, exit);

  b.SetInsertPoint(loop);
  llvm::PHINode* i = b.CreatePHI(i64, 2, "i");
  i->addIncoming(begin, entry);
  llvm::Value* x = b.CreateAlignedLoad(f32, b.CreateInBoundsGEP(f32, in, i), llvm::Align(4));
  llvm::Value* e = b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, x);
  llvm::Value* y = b.CreateFAdd(b.CreateFMul(e, llvm::ConstantFP::get(f32, scale)),
                                llvm::ConstantFP::get(f32, 1.0));
  b.CreateAlignedStore(y, b.CreateInBoundsGEP(f32, out, i), llvm::Align(4));
  llvm::Value* next = b.CreateNSWAdd(i, b.getInt64(1));
  i->addIncoming(next, loop);
  b.CreateCondBr(b.CreateICmpEQ(next, end), exit, loop);

  b.SetInsertPoint(exit);
  b.CreateRetVoid();
  return llvm::orc::ThreadSafeModule(std::move(module), std::move(context));
}

// A module the verifier rejects: a void function returning an i32.
inline llvm::orc::ThreadSafeModule build_invalid_module(const std::string& symbol) {
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>(symbol, *context);
  llvm::IRBuilder<> b(*context);
  auto* fn = llvm::Function::Create(llvm::FunctionType::get(b.getVoidTy(), false),
                                    llvm::Function::ExternalLinkage, symbol, *module);
  b.SetInsertPoint(llvm::BasicBlock::Create(*context, "entry", fn));
  b.CreateRet(b.getInt32(0));
  return llvm::orc::ThreadSafeModule(std::move(module), std::move(context));
}

// A valid module calling a function that exists nowhere: compiles, but cannot link.
inline llvm::orc::ThreadSafeModule build_unresolved_module(const std::string& symbol) {
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>(symbol, *context);
  llvm::IRBuilder<> b(*context);
  auto* void_fn = llvm::FunctionType::get(b.getVoidTy(), false);
  llvm::FunctionCallee missing = module->getOrInsertFunction("kiln_test_missing_function", void_fn);
  auto* fn = llvm::Function::Create(void_fn, llvm::Function::ExternalLinkage, symbol, *module);
  b.SetInsertPoint(llvm::BasicBlock::Create(*context, "entry", fn));
  b.CreateCall(missing);
  b.CreateRetVoid();
  return llvm::orc::ThreadSafeModule(std::move(module), std::move(context));
}

inline std::vector<float> exp_inputs(int64_t n) {
  std::vector<float> in(n);
  for (int64_t i = 0; i < n; ++i) in[i] = -8.f + 16.f * static_cast<float>(i) / n;
  return in;
}

// Runs the kernel over [0, n) and checks every element against std::exp (libmvec's expf is
// within 4 ulp, the scalar one within 1).
inline void expect_exp_kernel_works(void* address, float scale = 2.f, int64_t n = 1003) {
  ASSERT_NE(address, nullptr);
  const std::vector<float> in = exp_inputs(n);
  std::vector<float> out(n, -1.f);
  reinterpret_cast<ExpKernel>(address)(out.data(), in.data(), 0, n);
  for (int64_t i = 0; i < n; ++i) {
    const float expected = std::exp(in[i]) * scale + 1.f;
    ASSERT_NEAR(out[i], expected, 1e-6f * std::abs(expected) + 1e-6f) << "at " << i;
  }
}

// A fresh directory under the system's temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kiln-cpu-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace kiln::backends::cpu::testing
