#include "kiln/backends/cpu/matmul_kernel.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kiln/backends/cpu/jit.h"
#include "kiln/backends/cpu/kernel_cache.h"
#include "kiln/runtime/error.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Metadata.h"
#include "llvm/IR/Module.h"

namespace kiln::backends::cpu {
namespace {

// Bumped whenever the generated code changes meaning or calling convention, so that kernels
// compiled by an older kiln are not loaded from the disk cache under the same key.
constexpr std::string_view kKernelVersion = "matmul.micro/5";

// Iterations of the k loop per trip of the main loop: fewer branches and pointer updates, and
// the loads of step p + 1 can issue while the multiply-adds of step p run.
constexpr int kUnroll = 4;

// How the generated IR computes: the element type and whether it is a float.
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

bool is_float(MatmulCompute compute) {
  return compute == MatmulCompute::kFloat32 || compute == MatmulCompute::kFloat64;
}

// The module of one micro-kernel (see MatmulKernelFn):
//
//   void SYMBOL(i64 k, T* noalias a, T* noalias b, T* noalias c, i64 ldc, i64 accumulate)
//
// The mr * nr/lanes accumulators are SSA values carried by phis through the loops, so the
// register allocator keeps them in vector registers. The rows of A's panel are a_stride
// elements apart, a constant, so that every broadcast load addresses one pointer plus a fixed
// displacement.
llvm::orc::ThreadSafeModule build_kernel_module(const std::string& symbol, MatmulCompute compute,
                                                const MatmulKernelShape& shape) {
  auto context = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>(symbol, *context);
  llvm::IRBuilder<> b(*context);

  const int mr = shape.mr, nr = shape.nr, lanes = shape.lanes, nv = nr / lanes;
  const int64_t a_stride = shape.a_stride;
  const bool floating = is_float(compute);
  const int element_bytes = matmul_compute_size(compute);
  llvm::Type* t = element_type(*context, compute);
  auto* vt = llvm::FixedVectorType::get(t, static_cast<unsigned>(lanes));
  llvm::Type* i64 = b.getInt64Ty();
  llvm::Type* tp = t->getPointerTo();
  llvm::Type* vp = vt->getPointerTo();
  const llvm::Align element_align(static_cast<uint64_t>(element_bytes));
  // Packed panels of B are 64-byte aligned (the allocator's alignment), which covers every
  // vector up to 512 bits; wider ones (test shapes) are claimed only 64-byte aligned.
  const llvm::Align vector_align(
      std::min<uint64_t>(static_cast<uint64_t>(element_bytes) * lanes, 64));

  auto* type = llvm::FunctionType::get(b.getVoidTy(), {i64, tp, tp, tp, i64, i64}, false);
  auto* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, symbol, *module);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  // Tells the x86 backend that the vector width is wanted even on CPUs that prefer 256-bit
  // vectors: otherwise it may split 512-bit operations in two.
  fn->addFnAttr("min-legal-vector-width", std::to_string(element_bytes * 8 * lanes));
  for (unsigned i : {1u, 2u, 3u}) {
    fn->addParamAttr(i, llvm::Attribute::NoAlias);
    fn->addParamAttr(i, llvm::Attribute::NoCapture);
  }
  fn->addParamAttr(1, llvm::Attribute::ReadOnly);
  fn->addParamAttr(2, llvm::Attribute::ReadOnly);
  llvm::Value* k = fn->getArg(0);
  llvm::Value* a = fn->getArg(1);
  llvm::Value* bp = fn->getArg(2);
  llvm::Value* c = fn->getArg(3);
  llvm::Value* ldc = fn->getArg(4);
  llvm::Value* accumulate = fn->getArg(5);

  auto* entry = llvm::BasicBlock::Create(*context, "entry", fn);
  auto* main_loop = llvm::BasicBlock::Create(*context, "main", fn);
  auto* tail_check = llvm::BasicBlock::Create(*context, "tail.check", fn);
  auto* tail_loop = llvm::BasicBlock::Create(*context, "tail", fn);
  auto* finish = llvm::BasicBlock::Create(*context, "finish", fn);
  auto* store_add = llvm::BasicBlock::Create(*context, "store.add", fn);
  auto* store_set = llvm::BasicBlock::Create(*context, "store.set", fn);

  const size_t count = static_cast<size_t>(mr) * nv;
  using Accumulators = std::vector<llvm::Value*>;
  auto row_pointer = [&](int row, int v) {
    llvm::Value* offset = b.CreateAdd(b.CreateMul(b.getInt64(row), ldc), b.getInt64(v * lanes));
    return b.CreateInBoundsGEP(t, c, offset);
  };

  // entry: prefetch the tile of C for writing (it is read or written only after the loop, and
  // rows ldc apart defeat the hardware prefetcher), then enter the main loop if k >= kUnroll.
  b.SetInsertPoint(entry);
  llvm::Type* i8p = b.getInt8PtrTy();
  for (int row = 0; row < mr; ++row) {
    for (int byte = 0; byte < nr * element_bytes; byte += 64) {
      llvm::Value* at = b.CreateBitCast(row_pointer(row, 0), i8p);
      at = b.CreateInBoundsGEP(b.getInt8Ty(), at, b.getInt64(byte));
      b.CreateIntrinsic(llvm::Intrinsic::prefetch, {i8p},
                        {at, b.getInt32(1), b.getInt32(3), b.getInt32(1)});
    }
  }
  llvm::Value* zero = floating ? llvm::ConstantFP::get(vt, 0.0) : llvm::ConstantInt::get(vt, 0);
  const Accumulators zeros(count, zero);
  llvm::Value* k_main = b.CreateAnd(k, b.getInt64(-kUnroll));
  b.CreateCondBr(b.CreateICmpSGT(k_main, b.getInt64(0)), main_loop, tail_check);

  // Step p + u of the k loop: A[i][p + u] at a_at + i * a_stride + u, B[p + u] at b_at + u * nr.
  auto step = [&](llvm::Value* a_at, llvm::Value* b_at, int u, Accumulators& acc) {
    std::array<llvm::Value*, 64> bv{};
    for (int v = 0; v < nv; ++v) {
      llvm::Value* at = b.CreateInBoundsGEP(t, b_at, b.getInt64(u * nr + v * lanes));
      bv[static_cast<size_t>(v)] = b.CreateAlignedLoad(vt, b.CreateBitCast(at, vp), vector_align);
    }
    for (int row = 0; row < mr; ++row) {
      llvm::Value* at = b.CreateInBoundsGEP(t, a_at, b.getInt64(row * a_stride + u));
      llvm::Value* splat = b.CreateVectorSplat(static_cast<unsigned>(lanes),
                                               b.CreateAlignedLoad(t, at, element_align));
      for (int v = 0; v < nv; ++v) {
        llvm::Value*& sum = acc[static_cast<size_t>(row) * nv + v];
        llvm::Value* x = bv[static_cast<size_t>(v)];
        sum = floating ? b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vt}, {splat, x, sum})
                       : b.CreateAdd(b.CreateMul(splat, x), sum);
      }
    }
  };

  // The loops are unrolled here already: LLVM unrolling them further (with remainder loops)
  // only triples the code and the compile time.
  llvm::Metadata* no_unroll_ops[] = {
      nullptr,
      llvm::MDNode::get(*context, {llvm::MDString::get(*context, "llvm.loop.unroll.disable")})};
  llvm::MDNode* no_unroll = llvm::MDNode::getDistinct(*context, no_unroll_ops);
  no_unroll->replaceOperandWith(0, no_unroll);

  // A loop block: phis for the index, both panel pointers and the accumulators, `unroll`
  // steps, and the back edge while index < bound. Returns the values leaving the block.
  struct LoopOut {
    llvm::Value* index;
    llvm::Value* a;
    llvm::Value* b;
    Accumulators acc;
  };
  auto emit_loop = [&](llvm::BasicBlock* block, llvm::BasicBlock* from, const LoopOut& in,
                       int unroll, llvm::Value* bound, llvm::BasicBlock* exit) {
    b.SetInsertPoint(block);
    llvm::PHINode* index = b.CreatePHI(i64, 2, "p");
    llvm::PHINode* a_at = b.CreatePHI(tp, 2, "a");
    llvm::PHINode* b_at = b.CreatePHI(tp, 2, "b");
    std::vector<llvm::PHINode*> phis;
    Accumulators acc;
    for (size_t i = 0; i < count; ++i) {
      phis.push_back(b.CreatePHI(vt, 2));
      acc.push_back(phis.back());
    }
    index->addIncoming(in.index, from);
    a_at->addIncoming(in.a, from);
    b_at->addIncoming(in.b, from);
    for (size_t i = 0; i < count; ++i) phis[i]->addIncoming(in.acc[i], from);
    for (int u = 0; u < unroll; ++u) step(a_at, b_at, u, acc);
    LoopOut out{b.CreateNSWAdd(index, b.getInt64(unroll)),
                b.CreateInBoundsGEP(t, a_at, b.getInt64(unroll)),
                b.CreateInBoundsGEP(t, b_at, b.getInt64(static_cast<int64_t>(unroll) * nr)), acc};
    index->addIncoming(out.index, block);
    a_at->addIncoming(out.a, block);
    b_at->addIncoming(out.b, block);
    for (size_t i = 0; i < count; ++i) phis[i]->addIncoming(acc[i], block);
    llvm::BranchInst* back = b.CreateCondBr(b.CreateICmpSLT(out.index, bound), block, exit);
    back->setMetadata(llvm::LLVMContext::MD_loop, no_unroll);
    return out;
  };

  const LoopOut start{b.getInt64(0), a, bp, zeros};
  const LoopOut after_main = emit_loop(main_loop, entry, start, kUnroll, k_main, tail_check);

  // tail.check: the state after the main loop (or entry), then the k % kUnroll last steps.
  b.SetInsertPoint(tail_check);
  auto merge = [&](llvm::Type* type, llvm::Value* x, llvm::BasicBlock* x_from, llvm::Value* y,
                   llvm::BasicBlock* y_from) {
    llvm::PHINode* phi = b.CreatePHI(type, 2);
    phi->addIncoming(x, x_from);
    phi->addIncoming(y, y_from);
    return static_cast<llvm::Value*>(phi);
  };
  LoopOut checked{merge(i64, start.index, entry, after_main.index, main_loop),
                  merge(tp, start.a, entry, after_main.a, main_loop),
                  merge(tp, start.b, entry, after_main.b, main_loop),
                  {}};
  for (size_t i = 0; i < count; ++i) {
    checked.acc.push_back(merge(vt, start.acc[i], entry, after_main.acc[i], main_loop));
  }
  b.CreateCondBr(b.CreateICmpSLT(checked.index, k), tail_loop, finish);
  const LoopOut after_tail = emit_loop(tail_loop, tail_check, checked, 1, k, finish);

  // finish: the final sums, stored into C or added to it.
  b.SetInsertPoint(finish);
  Accumulators sums;
  for (size_t i = 0; i < count; ++i) {
    sums.push_back(merge(vt, checked.acc[i], tail_check, after_tail.acc[i], tail_loop));
  }
  b.CreateCondBr(b.CreateICmpNE(accumulate, b.getInt64(0)), store_add, store_set);
  for (const bool add : {true, false}) {
    b.SetInsertPoint(add ? store_add : store_set);
    std::vector<llvm::Value*> at(count);
    for (int row = 0; row < mr; ++row) {
      for (int v = 0; v < nv; ++v) {
        at[static_cast<size_t>(row) * nv + v] = b.CreateBitCast(row_pointer(row, v), vp);
      }
    }
    Accumulators out = sums;
    if (add) {
      // Every load before the first store: rows ldc apart (4 KiB for 1024 floats) look alike
      // to the CPU's store-to-load forwarding check, which would otherwise stall each load
      // behind the store to the row before it.
      std::vector<llvm::Value*> old(count);
      for (size_t i = 0; i < count; ++i) old[i] = b.CreateAlignedLoad(vt, at[i], element_align);
      for (size_t i = 0; i < count; ++i) {
        out[i] = floating ? b.CreateFAdd(old[i], sums[i]) : b.CreateAdd(old[i], sums[i]);
      }
    }
    for (size_t i = 0; i < count; ++i) b.CreateAlignedStore(out[i], at[i], element_align);
    b.CreateRetVoid();
  }
  return llvm::orc::ThreadSafeModule(std::move(module), std::move(context));
}

}  // namespace

int matmul_compute_size(MatmulCompute compute) {
  switch (compute) {
    case MatmulCompute::kFloat32:
    case MatmulCompute::kInt32:
      return 4;
    case MatmulCompute::kFloat64:
    case MatmulCompute::kInt64:
      return 8;
  }
  throw Error("matmul: unknown compute type");
}

const char* matmul_compute_name(MatmulCompute compute) {
  switch (compute) {
    case MatmulCompute::kFloat32:
      return "f32";
    case MatmulCompute::kFloat64:
      return "f64";
    case MatmulCompute::kInt32:
      return "i32";
    case MatmulCompute::kInt64:
      return "i64";
  }
  throw Error("matmul: unknown compute type");
}

MatmulKernelShape default_matmul_kernel_shape(MatmulCompute compute) {
  const HostTarget& host = Jit::instance().host();
  const int size = matmul_compute_size(compute);
  const bool x86 = host.triple.rfind("x86_64", 0) == 0;
  // kc (and so a_stride): 384 floats or 256 doubles, so that an A panel (mr x kc, 9 to 24
  // KiB) stays in a 32 KiB L1 cache while the kernel sweeps the packed block of B. Longer rows
  // mean fewer passes over C but crowd L1 (measured on Zen 4: 256 to 512 floats within 3%;
  // 256 doubles 4% faster than 192).
  const int kc = size == 8 ? 256 : 384;
  if (x86 && host.has_feature("avx512f")) {
    // 32 zmm registers: 24 accumulators, 2 vectors of B and a broadcast. Per step 24
    // multiply-adds against 14 loads.
    const int lanes = 64 / size;
    return MatmulKernelShape{12, 2 * lanes, lanes, kc};
  }
  if (x86 && host.has_feature("avx")) {
    // 16 ymm registers: 12 accumulators, 2 vectors of B, 1 broadcast (the classic 6x16).
    const int lanes = 32 / size;
    return MatmulKernelShape{6, 2 * lanes, lanes, kc};
  }
  // 128-bit vectors (SSE2, NEON): 8 accumulators fit 16 registers.
  const int lanes = 16 / size;
  return MatmulKernelShape{4, 2 * lanes, lanes, kc};
}

void check_matmul_kernel_shape(const MatmulKernelShape& shape) {
  const bool lanes_ok =
      shape.lanes >= 1 && shape.lanes <= 64 && (shape.lanes & (shape.lanes - 1)) == 0;
  if (shape.mr < 1 || shape.mr > 32 || !lanes_ok || shape.nr < shape.lanes ||
      shape.nr % shape.lanes != 0 || shape.mr * shape.nr > kMatmulMaxTileElements ||
      shape.a_stride < 1 || shape.a_stride > 65536) {
    throw Error(absl::StrFormat("matmul: invalid micro-kernel shape %dx%d (%d lanes, A stride %d)",
                                shape.mr, shape.nr, shape.lanes, shape.a_stride));
  }
}

std::string matmul_kernel_key(MatmulCompute compute, const MatmulKernelShape& shape) {
  return absl::StrFormat("%s:%s:%dx%d:lanes%d:a_stride%d:unroll%d",
                         absl::string_view(kKernelVersion.data(), kKernelVersion.size()),
                         matmul_compute_name(compute), shape.mr, shape.nr, shape.lanes,
                         shape.a_stride, kUnroll);
}

MatmulMicroKernel matmul_micro_kernel(MatmulCompute compute, const MatmulKernelShape& shape) {
  check_matmul_kernel_shape(shape);
  const std::string key = matmul_kernel_key(compute, shape);
  const std::string symbol = kernel_symbol(key);
  void* address = KernelCache::instance().get_or_compile(
      key, symbol, [&] { return build_kernel_module(symbol, compute, shape); });
  return MatmulMicroKernel{reinterpret_cast<MatmulKernelFn>(address), shape};
}

const MatmulMicroKernel& matmul_micro_kernel(MatmulCompute compute) {
  // Published once per compute type; a failed compile publishes nothing, so the next call
  // tries again.
  static std::array<MatmulMicroKernel, 4> kernels;
  static std::array<std::atomic<bool>, 4> ready{};
  static std::mutex mutex;
  const auto index = static_cast<size_t>(compute);
  if (index >= kernels.size()) throw Error("matmul: unknown compute type");
  if (ready[index].load(std::memory_order_acquire)) return kernels[index];
  const std::lock_guard<std::mutex> lock(mutex);
  if (!ready[index].load(std::memory_order_relaxed)) {
    kernels[index] = matmul_micro_kernel(compute, default_matmul_kernel_shape(compute));
    ready[index].store(true, std::memory_order_release);
  }
  return kernels[index];
}

MatmulKernelShape matmul_edge_shape(const MatmulKernelShape& shape, int rows, int cols) {
  if (rows < 1 || rows > shape.mr || cols < 1 || cols > shape.nr) {
    throw Error(absl::StrFormat("matmul: no %dx%d edge tile in a %dx%d kernel", rows, cols,
                                shape.mr, shape.nr));
  }
  const int step = (shape.mr + 2) / 3;
  MatmulKernelShape edge = shape;
  edge.mr = std::min(shape.mr, (rows + step - 1) / step * step);
  edge.nr = (cols + shape.lanes - 1) / shape.lanes * shape.lanes;
  return edge;
}

MatmulMicroKernel matmul_edge_kernel(MatmulCompute compute, const MatmulKernelShape& shape,
                                     int rows, int cols) {
  const MatmulKernelShape edge = matmul_edge_shape(shape, rows, cols);
  const MatmulMicroKernel& standard = matmul_micro_kernel(compute);
  if (edge == standard.shape) return standard;
  // Edge kernels of the default shapes are memoized without locking (several per call of a
  // matmul whose sizes are not multiples of the tile); others go through the kernel cache.
  constexpr int kMaxRows = 32, kMaxVectors = 8;
  static std::array<std::atomic<MatmulKernelFn>, 4 * (kMaxRows + 1) * (kMaxVectors + 1)> memo{};
  const int vectors = edge.nr / edge.lanes;
  const bool memoized = shape == standard.shape && vectors <= kMaxVectors;
  const size_t slot =
      (static_cast<size_t>(compute) * (kMaxRows + 1) + static_cast<size_t>(edge.mr)) *
          (kMaxVectors + 1) +
      static_cast<size_t>(vectors);
  if (memoized) {
    if (MatmulKernelFn fn = memo[slot].load(std::memory_order_acquire)) return {fn, edge};
  }
  const MatmulMicroKernel kernel = matmul_micro_kernel(compute, edge);
  if (memoized) memo[slot].store(kernel.fn, std::memory_order_release);
  return kernel;
}

}  // namespace kiln::backends::cpu
