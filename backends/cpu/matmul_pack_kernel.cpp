#include "kiln/backends/cpu/matmul_pack_kernel.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "kiln/backends/cpu/kernel_cache.h"
#include "kiln/runtime/error.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

namespace kiln::backends::cpu {
namespace {

// Bumped whenever the generated code changes meaning, like the micro-kernel's version.
constexpr char kPackVersion[] = "matmul.pack_b/2";
constexpr char kPackAVersion[] = "matmul.pack_a/2";

llvm::Type* element_type(llvm::LLVMContext& context, MatmulCompute compute) {
  switch (compute) {
    case MatmulCompute::kFloat32:
      return llvm::Type::getFloatTy(context);
    case MatmulCompute::kFloat64:
      return llvm::Type::getDoubleTy(context);
    case MatmulCompute::kInt32:
      return llvm::Type::getInt32Ty(context);
    case MatmulCompute::kInt64:
      return llvm::Type::getInt64Ty(context);
  }
  throw Error("matmul: unknown compute type");
}

// void SYMBOL(T* noalias src, i64 rs, i64 k, i64 panels, T* noalias dst): row p outer, so that
// the source is read row by row (sequential, for the prefetchers), panels inner.
llvm::orc::ThreadSafeModule build_pack_module(const std::string& symbol, MatmulCompute compute,
                                              int nr, int lanes) {
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>(symbol, *context);
  llvm::IRBuilder<> b(*context);
  llvm::Type* t = element_type(*context, compute);
  const int size = matmul_compute_size(compute);
  auto* vt = llvm::FixedVectorType::get(t, static_cast<unsigned>(lanes));
  llvm::Type* i64 = b.getInt64Ty();
  llvm::Type* tp = t->getPointerTo();
  llvm::Type* vp = vt->getPointerTo();

  auto* type = llvm::FunctionType::get(b.getVoidTy(), {tp, i64, i64, i64, tp}, false);
  auto* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, symbol, *module);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  fn->addFnAttr("min-legal-vector-width", std::to_string(size * 8 * lanes));
  for (unsigned i : {0u, 4u}) {
    fn->addParamAttr(i, llvm::Attribute::NoAlias);
    fn->addParamAttr(i, llvm::Attribute::NoCapture);
  }
  fn->addParamAttr(0, llvm::Attribute::ReadOnly);
  llvm::Value* src = fn->getArg(0);
  llvm::Value* rs = fn->getArg(1);
  llvm::Value* k = fn->getArg(2);
  llvm::Value* panels = fn->getArg(3);
  llvm::Value* dst = fn->getArg(4);

  auto* entry = llvm::BasicBlock::Create(*context, "entry", fn);
  auto* rows = llvm::BasicBlock::Create(*context, "rows", fn);
  auto* cols = llvm::BasicBlock::Create(*context, "panels", fn);
  auto* next_row = llvm::BasicBlock::Create(*context, "next.row", fn);
  auto* exit = llvm::BasicBlock::Create(*context, "exit", fn);

  b.SetInsertPoint(entry);
  llvm::Value* zero = b.getInt64(0);
  llvm::Value* panel_stride = b.CreateMul(k, b.getInt64(nr));  // elements between panels
  b.CreateCondBr(b.CreateAnd(b.CreateICmpSGT(k, zero), b.CreateICmpSGT(panels, zero)), rows, exit);

  b.SetInsertPoint(rows);
  llvm::PHINode* p = b.CreatePHI(i64, 2, "p");
  p->addIncoming(zero, entry);
  llvm::Value* row = b.CreateGEP(t, src, b.CreateMul(p, rs));
  llvm::Value* out = b.CreateGEP(t, dst, b.CreateMul(p, b.getInt64(nr)));
  b.CreateBr(cols);

  b.SetInsertPoint(cols);
  llvm::PHINode* q = b.CreatePHI(i64, 2, "q");
  q->addIncoming(zero, rows);
  llvm::Value* from = b.CreateGEP(t, row, b.CreateMul(q, b.getInt64(nr)));
  llvm::Value* to = b.CreateGEP(t, out, b.CreateMul(q, panel_stride));
  for (int v = 0; v < nr / lanes; ++v) {
    llvm::Value* x =
        b.CreateAlignedLoad(vt, b.CreateBitCast(b.CreateGEP(t, from, b.getInt64(v * lanes)), vp),
                            llvm::Align(static_cast<uint64_t>(size)));
    b.CreateAlignedStore(x, b.CreateBitCast(b.CreateGEP(t, to, b.getInt64(v * lanes)), vp),
                         llvm::Align(std::min<uint64_t>(static_cast<uint64_t>(size) * lanes, 64)));
  }
  llvm::Value* q_next = b.CreateNSWAdd(q, b.getInt64(1));
  q->addIncoming(q_next, cols);
  b.CreateCondBr(b.CreateICmpSLT(q_next, panels), cols, next_row);

  b.SetInsertPoint(next_row);
  llvm::Value* p_next = b.CreateNSWAdd(p, b.getInt64(1));
  p->addIncoming(p_next, next_row);
  b.CreateCondBr(b.CreateICmpSLT(p_next, k), rows, exit);

  b.SetInsertPoint(exit);
  b.CreateRetVoid();
  return llvm::orc::ThreadSafeModule(std::move(module), std::move(context));
}

// void SYMBOL(T* noalias src, i64 rs, i64 m, i64 k, T* noalias dst, i64 stride): row i of m
// copied from src + i * rs to dst + i * stride, k elements each. The copy is a plain scalar
// loop that LLVM's loop vectorizer turns into the host's widest moves; each row first
// prefetches the row kPrefetchRows below it (rows of a large A are pages apart and short, which
// the hardware prefetcher does not follow).
llvm::orc::ThreadSafeModule build_pack_a_module(const std::string& symbol, MatmulCompute compute) {
  constexpr int64_t kPrefetchRows = 4;
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>(symbol, *context);
  llvm::IRBuilder<> b(*context);
  llvm::Type* t = element_type(*context, compute);
  const int size = matmul_compute_size(compute);
  llvm::Type* i64 = b.getInt64Ty();
  llvm::Type* tp = t->getPointerTo();
  llvm::Type* i8p = b.getInt8PtrTy();

  auto* type = llvm::FunctionType::get(b.getVoidTy(), {tp, i64, i64, i64, tp, i64}, false);
  auto* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, symbol, *module);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  // Keeps LLVM from turning the row copy into a call to memcpy, whose fixed cost per call is
  // as large as copying a short row with vectors.
  fn->addFnAttr("no-builtins");
  for (unsigned i : {0u, 4u}) {
    fn->addParamAttr(i, llvm::Attribute::NoAlias);
    fn->addParamAttr(i, llvm::Attribute::NoCapture);
  }
  fn->addParamAttr(0, llvm::Attribute::ReadOnly);
  llvm::Value* src = fn->getArg(0);
  llvm::Value* rs = fn->getArg(1);
  llvm::Value* m = fn->getArg(2);
  llvm::Value* k = fn->getArg(3);
  llvm::Value* dst = fn->getArg(4);
  llvm::Value* stride = fn->getArg(5);

  auto* entry = llvm::BasicBlock::Create(*context, "entry", fn);
  auto* rows = llvm::BasicBlock::Create(*context, "rows", fn);
  auto* fetch = llvm::BasicBlock::Create(*context, "prefetch", fn);
  auto* copy_check = llvm::BasicBlock::Create(*context, "copy.check", fn);
  auto* copy = llvm::BasicBlock::Create(*context, "copy", fn);
  auto* next_row = llvm::BasicBlock::Create(*context, "next.row", fn);
  auto* exit = llvm::BasicBlock::Create(*context, "exit", fn);
  llvm::Value* zero = b.getInt64(0);

  b.SetInsertPoint(entry);
  const int64_t per_line = 64 / size;
  b.CreateCondBr(b.CreateAnd(b.CreateICmpSGT(k, zero), b.CreateICmpSGT(m, zero)), rows, exit);

  // rows: row i, and whether the row kPrefetchRows below exists.
  b.SetInsertPoint(rows);
  llvm::PHINode* i = b.CreatePHI(i64, 2, "i");
  i->addIncoming(zero, entry);
  llvm::Value* from = b.CreateGEP(t, src, b.CreateMul(i, rs));
  llvm::Value* to = b.CreateGEP(t, dst, b.CreateMul(i, stride));
  llvm::Value* ahead = b.CreateGEP(t, from, b.CreateMul(rs, b.getInt64(kPrefetchRows)));
  b.CreateCondBr(b.CreateICmpSLT(b.CreateAdd(i, b.getInt64(kPrefetchRows)), m), fetch, copy_check);

  // prefetch: one prefetch per cache line of the row ahead.
  b.SetInsertPoint(fetch);
  llvm::PHINode* line = b.CreatePHI(i64, 2, "line");
  line->addIncoming(zero, rows);
  b.CreateIntrinsic(llvm::Intrinsic::prefetch, {i8p},
                    {b.CreateBitCast(b.CreateGEP(t, ahead, line), i8p), b.getInt32(0),
                     b.getInt32(3), b.getInt32(1)});
  llvm::Value* line_next = b.CreateAdd(line, b.getInt64(per_line));
  line->addIncoming(line_next, fetch);
  b.CreateCondBr(b.CreateICmpSLT(line_next, k), fetch, copy_check);

  b.SetInsertPoint(copy_check);
  b.CreateBr(copy);

  // copy: dst row = src row, vectorized by LLVM.
  b.SetInsertPoint(copy);
  llvm::PHINode* p = b.CreatePHI(i64, 2, "p");
  p->addIncoming(zero, copy_check);
  const llvm::Align align(static_cast<uint64_t>(size));
  b.CreateAlignedStore(b.CreateAlignedLoad(t, b.CreateGEP(t, from, p), align),
                       b.CreateGEP(t, to, p), align);
  llvm::Value* p_next = b.CreateNSWAdd(p, b.getInt64(1));
  p->addIncoming(p_next, copy);
  b.CreateCondBr(b.CreateICmpSLT(p_next, k), copy, next_row);

  b.SetInsertPoint(next_row);
  llvm::Value* i_next = b.CreateNSWAdd(i, b.getInt64(1));
  i->addIncoming(i_next, next_row);
  b.CreateCondBr(b.CreateICmpSLT(i_next, m), rows, exit);

  b.SetInsertPoint(exit);
  b.CreateRetVoid();
  return llvm::orc::ThreadSafeModule(std::move(module), std::move(context));
}

MatmulPackBFn compile(MatmulCompute compute, int nr, int lanes) {
  check_matmul_kernel_shape({1, nr, lanes, 1});
  const std::string key =
      absl::StrFormat("%s:%s:nr%d:lanes%d", kPackVersion, matmul_compute_name(compute), nr, lanes);
  const std::string symbol = kernel_symbol(key);
  void* address = KernelCache::instance().get_or_compile(
      key, symbol, [&] { return build_pack_module(symbol, compute, nr, lanes); });
  return reinterpret_cast<MatmulPackBFn>(address);
}

}  // namespace

MatmulPackAFn matmul_pack_a_kernel(MatmulCompute compute) {
  static std::array<std::atomic<MatmulPackAFn>, 4> memo{};
  std::atomic<MatmulPackAFn>& slot = memo.at(static_cast<size_t>(compute));
  if (MatmulPackAFn fn = slot.load(std::memory_order_acquire)) return fn;
  const std::string key = absl::StrFormat("%s:%s", kPackAVersion, matmul_compute_name(compute));
  const std::string symbol = kernel_symbol(key);
  void* address = KernelCache::instance().get_or_compile(
      key, symbol, [&] { return build_pack_a_module(symbol, compute); });
  const auto fn = reinterpret_cast<MatmulPackAFn>(address);
  slot.store(fn, std::memory_order_release);
  return fn;
}

MatmulPackBFn matmul_pack_b_kernel(MatmulCompute compute, int nr, int lanes) {
  const MatmulKernelShape& standard = matmul_micro_kernel(compute).shape;
  if (nr != standard.nr || lanes != standard.lanes) return compile(compute, nr, lanes);
  static std::array<std::atomic<MatmulPackBFn>, 4> memo{};
  std::atomic<MatmulPackBFn>& slot = memo[static_cast<size_t>(compute)];
  if (MatmulPackBFn fn = slot.load(std::memory_order_acquire)) return fn;
  const MatmulPackBFn fn = compile(compute, nr, lanes);
  slot.store(fn, std::memory_order_release);
  return fn;
}

}  // namespace kiln::backends::cpu
