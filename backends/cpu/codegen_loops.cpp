// Loop nests of the CPU backend: the kernel function's signature, index decomposition and the
// contiguous inner loops of elementwise kernels. Reductions: codegen_reduce.cpp; scalar code:
// codegen_expr.cpp.
#include "kiln/backends/cpu/codegen_loops.h"

#include <functional>
#include <utility>
#include <vector>

#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cpu/codegen_expr.h"
#include "llvm/IR/Module.h"

namespace kiln::backends::cpu::codegen {

using ir::KernelExpr;
using ir::LoopKernel;

void KernelEmitter::emit(std::string_view symbol, Variant variant) {
  llvm::LLVMContext& ctx = m_.getContext();
  llvm::Type* i64_type = b_.getInt64Ty();
  llvm::Type* i64_ptr = llvm::PointerType::getUnqual(i64_type);
  llvm::Type* i8_ptr = llvm::PointerType::getUnqual(b_.getInt8Ty());
  const llvm::StringRef name(symbol.data(), symbol.size());
  const bool partial = variant == Variant::kPartial;

  // (sizes, strides, offsets, begin, end) or (sizes, strides, offsets, begin, end, point, state)
  std::vector<llvm::Type*> shared = {i64_ptr, i64_ptr, i64_ptr, i64_type, i64_type};
  if (partial) shared.insert(shared.end(), {i64_type, i8_ptr});
  std::vector<llvm::Type*> params;
  for (const ir::KernelArg& arg : k_.args)
    params.push_back(llvm::PointerType::getUnqual(s_.memory_type(arg.dtype)));
  const unsigned n_args = static_cast<unsigned>(params.size());
  params.insert(params.end(), shared.begin(), shared.end());
  fn_ = llvm::Function::Create(llvm::FunctionType::get(b_.getVoidTy(), params, false),
                               llvm::Function::InternalLinkage, name + ".body", m_);
  fn_->setDoesNotThrow();
  for (unsigned i = 0; i < static_cast<unsigned>(params.size()); ++i) {
    if (!params[i]->isPointerTy()) continue;
    fn_->addParamAttr(i, llvm::Attribute::NoAlias);
    fn_->addParamAttr(i, llvm::Attribute::NoCapture);
  }

  b_.SetInsertPoint(block("entry"));
  for (unsigned a = 0; a < n_args; ++a) ptrs_.push_back(fn_->getArg(a));
  load_launch(fn_->getArg(n_args), fn_->getArg(n_args + 1), fn_->getArg(n_args + 2));
  for (int32_t d = 0; d < rank_; ++d) coord_slots_.push_back(b_.CreateAlloca(i64_type));
  pos_slot_ = b_.CreateAlloca(i64_type);
  hoisted_.assign(k_.exprs.size(), nullptr);
  llvm::Value* s0 = fn_->getArg(n_args + 3);
  llvm::Value* s1 = fn_->getArg(n_args + 4);
  if (partial) {
    emit_partial(fn_->getArg(n_args + 5), s0, s1, fn_->getArg(n_args + 6));
  } else if (k_.kind == LoopKernel::Kind::kReduction) {
    emit_reduction(s0, s1);
  } else {
    emit_elementwise(s0, s1);
  }

  // The exported wrapper.
  std::vector<llvm::Type*> wrapper_params = {llvm::PointerType::getUnqual(i8_ptr)};
  wrapper_params.insert(wrapper_params.end(), shared.begin(), shared.end());
  auto* wrapper =
      llvm::Function::Create(llvm::FunctionType::get(b_.getVoidTy(), wrapper_params, false),
                             llvm::Function::ExternalLinkage, name, m_);
  wrapper->setDoesNotThrow();
  b_.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  std::vector<llvm::Value*> call_args;
  for (unsigned a = 0; a < n_args; ++a) {
    llvm::Value* slot = b_.CreateInBoundsGEP(i8_ptr, wrapper->getArg(0), i64(a));
    llvm::Value* p = b_.CreateAlignedLoad(i8_ptr, slot, llvm::Align(8));
    call_args.push_back(b_.CreatePointerCast(p, params[a]));
  }
  for (unsigned i = 1; i < wrapper->arg_size(); ++i) call_args.push_back(wrapper->getArg(i));
  b_.CreateCall(fn_, call_args);
  b_.CreateRetVoid();
}

void KernelEmitter::load_launch(llvm::Value* sizes, llvm::Value* strides, llvm::Value* offsets) {
  llvm::Type* t = b_.getInt64Ty();
  auto at = [&](llvm::Value* array, int64_t i) {
    return b_.CreateAlignedLoad(t, b_.CreateInBoundsGEP(t, array, i64(i)), llvm::Align(8));
  };
  for (int32_t d = 0; d < rank_; ++d) sizes_.push_back(at(sizes, d));
  for (size_t a = 0; a < k_.args.size(); ++a) {
    // Specialized on the layout: a zero stride is no term at all, a unit innermost stride
    // the constant 1 (a contiguous walk the vectorizer recognizes).
    Values s;
    for (int32_t d = 0; d < rank_; ++d) {
      if (zero_stride(a, d)) {
        s.push_back(nullptr);
      } else if (d == rank_ - 1 && k_.layouts[a].inner_unit_stride) {
        s.push_back(i64(1));
      } else {
        s.push_back(at(strides, static_cast<int64_t>(a) * rank_ + d));
      }
    }
    strides_.push_back(std::move(s));
    offsets_.push_back(at(offsets, static_cast<int64_t>(a)));
  }
  // Runtime constants follow the sizes; compiled-in ones are LLVM constants.
  int64_t next = rank_;
  constants_.assign(k_.exprs.size(), nullptr);
  const std::vector<bool> runtime = runtime_constants(k_);
  for (size_t i = 0; i < k_.exprs.size(); ++i) {
    const KernelExpr& e = k_.exprs[i];
    if (e.kind != KernelExpr::Kind::kConstant) continue;
    constants_[i] =
        runtime[i] ? s_.from_bits(e.dtype, at(sizes, next++)) : s_.constant(e.dtype, e.constant);
  }
}

KernelEmitter::Values KernelEmitter::advance(const Values& bases, int32_t first_dim,
                                             const Values& coords) {
  Values out = bases;
  for (size_t a = 0; a < out.size(); ++a)
    for (size_t i = 0; i < coords.size(); ++i)
      if (llvm::Value* stride = strides_[a][first_dim + i])
        out[a] = b_.CreateAdd(out[a], b_.CreateMul(coords[i], stride));
  return out;
}

llvm::Value* KernelEmitter::address(size_t a, llvm::Value* element_offset) {
  return b_.CreateInBoundsGEP(s_.memory_type(k_.args[a].dtype), ptrs_[a], element_offset);
}

llvm::Value* KernelEmitter::offset_at(size_t a, const Values& bases, int32_t dim, llvm::Value* j) {
  llvm::Value* stride = dim >= 0 ? strides_[a][dim] : nullptr;
  return stride == nullptr ? bases[a] : b_.CreateAdd(bases[a], b_.CreateMul(j, stride));
}

llvm::BranchInst* KernelEmitter::counted_loop(llvm::Value* n, const char* name,
                                              const std::function<void(llvm::Value* i)>& body) {
  llvm::BasicBlock* pre = b_.GetInsertBlock();
  llvm::BasicBlock* loop = block(name);
  llvm::BasicBlock* after = block("loop.after");
  b_.CreateBr(loop);
  b_.SetInsertPoint(loop);
  llvm::PHINode* i = b_.CreatePHI(b_.getInt64Ty(), 2, "i");
  i->addIncoming(i64(0), pre);
  body(i);
  llvm::Value* next = b_.CreateAdd(i, i64(1));
  i->addIncoming(next, b_.GetInsertBlock());
  llvm::BranchInst* back = b_.CreateCondBr(b_.CreateICmpEQ(next, n), after, loop);
  b_.SetInsertPoint(after);
  return back;
}

void KernelEmitter::vectorize_with_width(llvm::BranchInst* back_edge, int width) {
  llvm::LLVMContext& context = m_.getContext();
  llvm::Metadata* hint[] = {llvm::MDString::get(context, "llvm.loop.vectorize.width"),
                            llvm::ConstantAsMetadata::get(b_.getInt32(width))};
  // A loop ID is a distinct node whose first operand is itself.
  llvm::Metadata* operands[] = {nullptr, llvm::MDNode::get(context, hint)};
  llvm::MDNode* loop_id = llvm::MDNode::getDistinct(context, operands);
  loop_id->replaceOperandWith(0, loop_id);
  back_edge->setMetadata(llvm::LLVMContext::MD_loop, loop_id);
}

void KernelEmitter::hoist_loads(const Values& bases, int32_t dim) {
  for (size_t i = 0; i < k_.exprs.size(); ++i) {
    const KernelExpr& e = k_.exprs[i];
    hoisted_[i] = nullptr;
    if (e.kind != KernelExpr::Kind::kLoad) continue;
    const size_t a = static_cast<size_t>(e.arg);
    if (dim >= 0 && !zero_stride(a, dim)) continue;
    hoisted_[i] = s_.load(e.dtype, address(a, bases[a]));
  }
}

KernelEmitter::Values KernelEmitter::evaluate(const Values& bases, int32_t dim, llvm::Value* j) {
  Values v(k_.exprs.size(), nullptr);
  for (size_t i = 0; i < k_.exprs.size(); ++i) {
    const KernelExpr& e = k_.exprs[i];
    switch (e.kind) {
      case KernelExpr::Kind::kLoad: {
        const size_t a = static_cast<size_t>(e.arg);
        v[i] = hoisted_[i] != nullptr ? hoisted_[i]
                                      : s_.load(e.dtype, address(a, offset_at(a, bases, dim, j)));
        break;
      }
      case KernelExpr::Kind::kConstant:
        v[i] = constants_[i];
        break;
      case KernelExpr::Kind::kOp: {
        absl::InlinedVector<DType, 3> types;
        absl::InlinedVector<llvm::Value*, 3> operands;
        for (int32_t o : e.operands) {
          types.push_back(k_.exprs[o].dtype);
          operands.push_back(v[o]);
        }
        v[i] = s_.op(e.op, e.dtype, types, operands);
        break;
      }
    }
  }
  return v;
}

void KernelEmitter::emit_runs(int32_t first, const Values& bases0, llvm::Value* begin,
                              llvm::Value* end, const RunBody& body) {
  llvm::Type* i64_type = b_.getInt64Ty();
  const int32_t inner = rank_ - 1;
  // Coordinates of `begin`; every size involved is nonzero since the range is not empty.
  llvm::Value* rest = begin;
  for (int32_t d = inner; d > first; --d) {
    b_.CreateStore(b_.CreateURem(rest, sizes_[d]), coord_slots_[d]);
    rest = b_.CreateUDiv(rest, sizes_[d]);
  }
  b_.CreateStore(rest, coord_slots_[first]);
  b_.CreateStore(begin, pos_slot_);
  llvm::BasicBlock* run = block("run");
  llvm::BasicBlock* done = block("run.done");
  llvm::BasicBlock* step = block("step");
  llvm::BasicBlock* after = block("runs.after");
  b_.CreateBr(run);

  // One run: [c_inner, min(size_inner, c_inner + end - pos)) of the innermost dim.
  b_.SetInsertPoint(run);
  Values coords;
  for (int32_t d = first; d <= inner; ++d)
    coords.push_back(b_.CreateLoad(i64_type, coord_slots_[d]));
  llvm::Value* pos = b_.CreateLoad(i64_type, pos_slot_);
  const Values bases = advance(bases0, first, coords);
  llvm::Value* left_in_row = b_.CreateSub(sizes_[inner], coords.back());
  llvm::Value* left_in_range = b_.CreateSub(end, pos);
  llvm::Value* length =
      b_.CreateSelect(b_.CreateICmpSLT(left_in_row, left_in_range), left_in_row, left_in_range);
  hoist_loads(bases, inner);
  body(bases, length, pos);
  b_.CreateBr(done);

  b_.SetInsertPoint(done);
  llvm::Value* new_pos = b_.CreateAdd(pos, length);
  b_.CreateStore(new_pos, pos_slot_);
  b_.CreateCondBr(b_.CreateICmpSGE(new_pos, end), after, step);

  // The next run starts at coordinate 0 of the innermost dim: carry into the dims before it.
  // The range goes on, so the outermost dim never overflows (and a single dim never gets here).
  b_.SetInsertPoint(step);
  b_.CreateStore(i64(0), coord_slots_[inner]);
  for (int32_t d = inner - 1; d > first; --d) {
    llvm::Value* c = b_.CreateAdd(b_.CreateLoad(i64_type, coord_slots_[d]), i64(1));
    llvm::Value* fits = b_.CreateICmpULT(c, sizes_[d]);
    b_.CreateStore(b_.CreateSelect(fits, c, i64(0)), coord_slots_[d]);
    llvm::BasicBlock* carry = block("carry");
    b_.CreateCondBr(fits, run, carry);
    b_.SetInsertPoint(carry);
  }
  if (inner > first) {
    b_.CreateStore(b_.CreateAdd(b_.CreateLoad(i64_type, coord_slots_[first]), i64(1)),
                   coord_slots_[first]);
    b_.CreateBr(run);
  } else {
    b_.CreateBr(after);
  }
  b_.SetInsertPoint(after);
}

void KernelEmitter::emit_elementwise(llvm::Value* begin, llvm::Value* end) {
  llvm::BasicBlock* start = block("start");
  llvm::BasicBlock* exit = block("exit");
  b_.CreateCondBr(b_.CreateICmpSLT(begin, end), start, exit);
  b_.SetInsertPoint(start);
  auto store_all = [&](const Values& bases, int32_t dim, llvm::Value* j) {
    const Values v = evaluate(bases, dim, j);
    for (const auto& [arg, expr] : k_.stores) {
      const size_t a = static_cast<size_t>(arg);
      s_.store(k_.args[a].dtype, v[expr], address(a, offset_at(a, bases, dim, j)));
    }
  };
  if (rank_ == 0) {  // a single point
    hoist_loads(offsets_, -1);
    store_all(offsets_, -1, nullptr);
  } else {
    emit_runs(0, offsets_, begin, end, [&](const Values& bases, llvm::Value* length, llvm::Value*) {
      counted_loop(length, "inner", [&](llvm::Value* j) { store_all(bases, rank_ - 1, j); });
    });
  }
  b_.CreateBr(exit);
  b_.SetInsertPoint(exit);
  b_.CreateRetVoid();
}

}  // namespace kiln::backends::cpu::codegen
