// Loop nests of the CPU backend: the kernel function's signature, index decomposition, the
// contiguous inner loops and the reduction accumulators. Scalar code is codegen_expr.cpp's.
#include "kiln/backends/cpu/codegen_loops.h"

#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/backends/cpu/codegen_expr.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"
#include "llvm/IR/Module.h"

namespace kiln::backends::cpu::codegen {
namespace {

using ir::KernelExpr;
using ir::LoopKernel;
using ir::Op;

// Builds the body function of one kernel,
//   internal void SYMBOL.body(T0* noalias p0, ..., i64* sizes, i64* strides, i64* offsets,
//                             SCALARS...)
// and the exported wrapper SYMBOL(i8** data, sizes, strides, offsets, SCALARS...) that loads
// the buffer pointers and calls it. The body's noalias arguments become scoped alias metadata
// when the inliner folds it into the wrapper, so the vectorizer needs no runtime alias checks.
// (Sound: outputs are never read and never alias another argument; inputs may alias each
// other, which noalias allows for memory that is not written.)
class KernelEmitter {
 public:
  KernelEmitter(const LoopKernel& k, llvm::Module& m)
      : k_(k),
        m_(m),
        b_(m.getContext()),
        s_(b_, m),
        rank_(k.rank),
        kept_(k.rank - (k.kind == LoopKernel::Kind::kReduction ? k.reduced_dims : 0)) {}

  void emit(std::string_view symbol, Variant variant);

 private:
  using Values = std::vector<llvm::Value*>;
  // The body of a run: arg offsets at the run's start, the index j within the run, and the
  // flat index (over the dims the runs walk) of the run's start.
  using RunBody = std::function<void(const Values& bases, llvm::Value* j, llvm::Value* flat)>;

  llvm::BasicBlock* block(const char* name) {
    return llvm::BasicBlock::Create(m_.getContext(), name, fn_);
  }
  llvm::Value* i64(int64_t v) { return b_.getInt64(static_cast<uint64_t>(v)); }
  bool zero_stride(size_t a, int32_t d) const {
    return ((k_.layouts[a].zero_stride_dims >> d) & 1u) != 0;
  }
  DType reduced_dtype() const { return k_.exprs[k_.stores[0].second].dtype; }

  void load_launch(llvm::Value* sizes, llvm::Value* strides, llvm::Value* offsets);
  // `bases` moved by coords[i] steps along dim first_dim + i, for every arg.
  Values advance(const Values& bases, int32_t first_dim, const Values& coords);
  llvm::Value* address(size_t a, llvm::Value* element_offset);
  llvm::Value* offset_at(size_t a, const Values& bases, int32_t dim, llvm::Value* j);

  // Loads of args with a zero stride over `dim` (the inner loop's), emitted before that loop.
  void hoist_loads(const Values& bases, int32_t dim);
  // Every expression at the point whose arg offsets are bases + j * stride[dim].
  Values evaluate(const Values& bases, int32_t dim, llvm::Value* j);

  // The flat range [begin, end) (begin < end) of dims [first, rank), row-major: the start is
  // decomposed into coordinates once, then each contiguous run of the innermost dim is a
  // tight loop calling `body`, and an odometer steps to the next run.
  void emit_runs(int32_t first, const Values& bases, llvm::Value* begin, llvm::Value* end,
                 const RunBody& body);
  void emit_elementwise(llvm::Value* begin, llvm::Value* end);
  void emit_reduction(llvm::Value* begin, llvm::Value* end);
  void emit_partial(llvm::Value* point, llvm::Value* begin, llvm::Value* end,
                    llvm::Value* state);

  void init_accumulator(llvm::Value* first_index);
  void reduced_loop(int32_t d, const Values& bases, llvm::Value* flat);
  void accumulate(llvm::Value* value, llvm::Value* flat);

  const LoopKernel& k_;
  llvm::Module& m_;
  llvm::IRBuilder<> b_;
  ScalarEmitter s_;
  const int32_t rank_;
  const int32_t kept_;
  llvm::Function* fn_ = nullptr;

  Values ptrs_;                  // per arg
  Values sizes_;                 // per dim
  std::vector<Values> strides_;  // per arg, per dim; nullptr for a zero stride
  Values offsets_;               // per arg
  std::vector<llvm::AllocaInst*> coord_slots_;  // per dim: the odometer
  llvm::AllocaInst* pos_slot_ = nullptr;
  Values hoisted_;  // per expr: a load done before the inner loop

  // Reductions: the accumulator (compute form; double for floating sums and products) and
  // the flat index of the best element so far (argmax/argmin).
  llvm::AllocaInst* acc_slot_ = nullptr;
  llvm::AllocaInst* index_slot_ = nullptr;
};

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
        v[i] = s_.constant(e.dtype, e.constant);
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
  llvm::BasicBlock* loop = block("inner");
  llvm::BasicBlock* done = block("run.done");
  llvm::BasicBlock* step = block("step");
  llvm::BasicBlock* after = block("runs.after");
  b_.CreateBr(run);

  // One run: [c_inner, min(size_inner, c_inner + end - pos)) of the innermost dim.
  b_.SetInsertPoint(run);
  Values coords;
  for (int32_t d = first; d <= inner; ++d) coords.push_back(b_.CreateLoad(i64_type, coord_slots_[d]));
  llvm::Value* pos = b_.CreateLoad(i64_type, pos_slot_);
  const Values bases = advance(bases0, first, coords);
  llvm::Value* left_in_row = b_.CreateSub(sizes_[inner], coords.back());
  llvm::Value* left_in_range = b_.CreateSub(end, pos);
  llvm::Value* length = b_.CreateSelect(b_.CreateICmpSLT(left_in_row, left_in_range), left_in_row,
                                        left_in_range);
  hoist_loads(bases, inner);
  b_.CreateBr(loop);

  b_.SetInsertPoint(loop);
  llvm::PHINode* j = b_.CreatePHI(i64_type, 2, "j");
  j->addIncoming(i64(0), run);
  body(bases, j, pos);
  llvm::Value* next = b_.CreateAdd(j, i64(1));
  j->addIncoming(next, b_.GetInsertBlock());
  b_.CreateCondBr(b_.CreateICmpEQ(next, length), done, loop);

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
    emit_runs(0, offsets_, begin, end,
              [&](const Values& bases, llvm::Value* j, llvm::Value*) { store_all(bases, rank_ - 1, j); });
  }
  b_.CreateBr(exit);
  b_.SetInsertPoint(exit);
  b_.CreateRetVoid();
}

void KernelEmitter::init_accumulator(llvm::Value* first_index) {
  const Op op = k_.reduce_op;
  llvm::Type* type = s_.compute_type(reduced_dtype());
  const bool floating = type->isFloatingPointTy();
  if (floating && (op == Op::sum || op == Op::prod)) type = b_.getDoubleTy();
  if (acc_slot_ == nullptr) {
    llvm::IRBuilderBase::InsertPointGuard guard(b_);
    b_.SetInsertPoint(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
    acc_slot_ = b_.CreateAlloca(type);
    index_slot_ = b_.CreateAlloca(b_.getInt64Ty());
  }
  // The identity of sum/prod; for the extremes a value every element beats or ties (ties keep
  // the first index, so a row of -inf still reports its first element).
  const bool want_max = op == Op::amax || op == Op::argmax;
  llvm::Value* init = nullptr;
  if (op == Op::sum) {
    init = llvm::Constant::getNullValue(type);
  } else if (op == Op::prod) {
    init = floating ? llvm::ConstantFP::get(type, 1.0) : llvm::ConstantInt::get(type, 1);
  } else if (floating) {
    init = llvm::ConstantFP::getInfinity(type, /*Negative=*/want_max);
  } else {
    init = want_max ? i64(std::numeric_limits<int64_t>::min())
                    : i64(std::numeric_limits<int64_t>::max());
  }
  b_.CreateStore(init, acc_slot_);
  b_.CreateStore(first_index, index_slot_);
}

void KernelEmitter::emit_reduction(llvm::Value* begin, llvm::Value* end) {
  llvm::BasicBlock* start = block("start");
  llvm::BasicBlock* exit = block("exit");
  // The reduced extent is empty when any reduced size is 0: sum gives 0, prod 1.
  llvm::Value* nonempty = b_.getTrue();
  for (int32_t d = kept_; d < rank_; ++d)
    nonempty = b_.CreateAnd(nonempty, b_.CreateICmpNE(sizes_[d], i64(0)));
  b_.CreateCondBr(b_.CreateICmpSLT(begin, end), start, exit);

  // Parallel points are the kept coordinates, stepped by an odometer; each reduces all of the
  // reduced dims in nested loops (row-major: the interpreter's order, which argmax's "first"
  // and the sequential product depend on).
  b_.SetInsertPoint(start);
  llvm::Value* rest = begin;
  for (int32_t d = kept_ - 1; d > 0; --d) {
    b_.CreateStore(b_.CreateURem(rest, sizes_[d]), coord_slots_[d]);
    rest = b_.CreateUDiv(rest, sizes_[d]);
  }
  if (kept_ > 0) b_.CreateStore(rest, coord_slots_[0]);
  b_.CreateStore(begin, pos_slot_);
  llvm::BasicBlock* point = block("point");
  b_.CreateBr(point);

  b_.SetInsertPoint(point);
  Values coords;
  for (int32_t d = 0; d < kept_; ++d)
    coords.push_back(b_.CreateLoad(b_.getInt64Ty(), coord_slots_[d]));
  llvm::Value* pos = b_.CreateLoad(b_.getInt64Ty(), pos_slot_);
  const Values bases = advance(offsets_, 0, coords);
  init_accumulator(i64(0));
  llvm::BasicBlock* loops = block("reduce");
  llvm::BasicBlock* finish = block("finish");
  b_.CreateCondBr(nonempty, loops, finish);
  b_.SetInsertPoint(loops);
  reduced_loop(kept_, bases, i64(0));
  b_.CreateBr(finish);

  b_.SetInsertPoint(finish);
  const Op op = k_.reduce_op;
  const DType dtype = reduced_dtype();
  llvm::Value* result = nullptr;
  if (op == Op::argmax || op == Op::argmin) {
    result = b_.CreateLoad(b_.getInt64Ty(), index_slot_);
  } else {
    result = b_.CreateLoad(acc_slot_->getAllocatedType(), acc_slot_);
    // The interpreter rounds its double sum (product) to the compute type, then stores.
    if (result->getType()->isFloatingPointTy())
      result = b_.CreateFPCast(result, s_.compute_type(dtype));
    result = s_.from_compute(dtype, result);
  }
  const size_t out = static_cast<size_t>(k_.stores[0].first);
  s_.store(k_.args[out].dtype, result, address(out, bases[out]));

  llvm::Value* new_pos = b_.CreateAdd(pos, i64(1));
  b_.CreateStore(new_pos, pos_slot_);
  llvm::BasicBlock* step = block("step");
  b_.CreateCondBr(b_.CreateICmpSGE(new_pos, end), exit, step);
  b_.SetInsertPoint(step);
  for (int32_t d = kept_ - 1; d > 0; --d) {
    llvm::Value* c = b_.CreateAdd(b_.CreateLoad(b_.getInt64Ty(), coord_slots_[d]), i64(1));
    llvm::Value* fits = b_.CreateICmpULT(c, sizes_[d]);
    b_.CreateStore(b_.CreateSelect(fits, c, i64(0)), coord_slots_[d]);
    llvm::BasicBlock* carry = block("carry");
    b_.CreateCondBr(fits, point, carry);
    b_.SetInsertPoint(carry);
  }
  if (kept_ > 0) {
    b_.CreateStore(b_.CreateAdd(b_.CreateLoad(b_.getInt64Ty(), coord_slots_[0]), i64(1)),
                   coord_slots_[0]);
    b_.CreateBr(point);
  } else {
    b_.CreateBr(exit);  // a single point
  }
  b_.SetInsertPoint(exit);
  b_.CreateRetVoid();
}

// The loop over reduced dim d (size > 0: the caller checked) and the ones inside it, in
// row-major order; `flat` is the flat index of the enclosing reduced coordinates.
void KernelEmitter::reduced_loop(int32_t d, const Values& bases, llvm::Value* flat) {
  const bool innermost = d == rank_ - 1;
  if (innermost) hoist_loads(bases, d);
  llvm::BasicBlock* pre = b_.GetInsertBlock();
  llvm::BasicBlock* head = block(innermost ? "reduce.inner" : "reduce.outer");
  llvm::BasicBlock* after = block("reduce.after");
  b_.CreateBr(head);
  b_.SetInsertPoint(head);
  llvm::PHINode* r = b_.CreatePHI(b_.getInt64Ty(), 2, "r");
  r->addIncoming(i64(0), pre);
  llvm::Value* index = b_.CreateAdd(b_.CreateMul(flat, sizes_[d]), r);
  if (innermost) {
    accumulate(evaluate(bases, d, r)[k_.stores[0].second], index);
  } else {
    reduced_loop(d + 1, advance(bases, d, {r}), index);
  }
  llvm::Value* next = b_.CreateAdd(r, i64(1));
  r->addIncoming(next, b_.GetInsertBlock());
  b_.CreateCondBr(b_.CreateICmpEQ(next, sizes_[d]), after, head);
  b_.SetInsertPoint(after);
}

void KernelEmitter::emit_partial(llvm::Value* point, llvm::Value* begin, llvm::Value* end,
                                 llvm::Value* state) {
  // The kept coordinates of `point`, then the reduced flat range [begin, end) in runs.
  llvm::Value* rest = point;
  Values coords(static_cast<size_t>(kept_), nullptr);
  for (int32_t d = kept_ - 1; d >= 0; --d) {
    coords[d] = d > 0 ? b_.CreateURem(rest, sizes_[d]) : rest;
    if (d > 0) rest = b_.CreateUDiv(rest, sizes_[d]);
  }
  const Values bases = advance(offsets_, 0, coords);
  init_accumulator(begin);
  llvm::BasicBlock* runs = block("runs");
  llvm::BasicBlock* write = block("write");
  b_.CreateCondBr(b_.CreateICmpSLT(begin, end), runs, write);
  b_.SetInsertPoint(runs);
  emit_runs(kept_, bases, begin, end, [&](const Values& run_bases, llvm::Value* j, llvm::Value* flat) {
    accumulate(evaluate(run_bases, rank_ - 1, j)[k_.stores[0].second], b_.CreateAdd(flat, j));
  });
  b_.CreateBr(write);

  // ReductionState: the accumulator as int64 bits (floating ones widened to double, exactly)
  // and the index.
  b_.SetInsertPoint(write);
  llvm::Value* acc = b_.CreateLoad(acc_slot_->getAllocatedType(), acc_slot_);
  if (acc->getType()->isFloatingPointTy())
    acc = b_.CreateBitCast(b_.CreateFPCast(acc, b_.getDoubleTy()), b_.getInt64Ty());
  llvm::Value* slots = b_.CreatePointerCast(state, llvm::PointerType::getUnqual(b_.getInt64Ty()));
  b_.CreateAlignedStore(acc, slots, llvm::Align(8));
  b_.CreateAlignedStore(b_.CreateLoad(b_.getInt64Ty(), index_slot_),
                        b_.CreateInBoundsGEP(b_.getInt64Ty(), slots, i64(1)), llvm::Align(8));
  b_.CreateRetVoid();
}

void KernelEmitter::accumulate(llvm::Value* value, llvm::Value* flat) {
  llvm::Type* acc_type = acc_slot_->getAllocatedType();
  llvm::Value* x = s_.to_compute(reduced_dtype(), value);
  llvm::Value* acc = b_.CreateLoad(acc_type, acc_slot_);
  const bool floating = x->getType()->isFloatingPointTy();
  switch (k_.reduce_op) {
    case Op::sum: {
      if (!floating) {
        b_.CreateStore(b_.CreateAdd(acc, x), acc_slot_);  // wraps
        return;
      }
      // Reassociation on this add alone lets the vectorizer keep several partial sums; the
      // order is fixed by the compiled code and the size, so results are deterministic.
      llvm::Value* sum = b_.CreateFAdd(acc, b_.CreateFPCast(x, acc_type));
      if (auto* inst = llvm::dyn_cast<llvm::Instruction>(sum)) inst->setHasAllowReassoc(true);
      b_.CreateStore(sum, acc_slot_);
      return;
    }
    case Op::prod:  // sequential, as the interpreter multiplies
      b_.CreateStore(floating ? b_.CreateFMul(acc, b_.CreateFPCast(x, acc_type))
                              : b_.CreateMul(acc, x),
                     acc_slot_);
      return;
    case Op::amax:
    case Op::amin:
    case Op::argmax:
    case Op::argmin: {
      // The interpreter's scan: strictly better replaces (ties keep the first), a NaN beats
      // everything and, once found, nothing replaces it.
      const bool want_max = k_.reduce_op == Op::amax || k_.reduce_op == Op::argmax;
      llvm::Value* better = nullptr;
      if (floating) {
        better = want_max ? b_.CreateFCmpOGT(x, acc) : b_.CreateFCmpOLT(x, acc);
        better = b_.CreateOr(better, b_.CreateFCmpUNO(x, x));
        better = b_.CreateAnd(better, b_.CreateFCmpORD(acc, acc));
      } else {
        better = want_max ? b_.CreateICmpSGT(x, acc) : b_.CreateICmpSLT(x, acc);
      }
      b_.CreateStore(b_.CreateSelect(better, x, acc), acc_slot_);
      llvm::Value* index = b_.CreateLoad(b_.getInt64Ty(), index_slot_);
      b_.CreateStore(b_.CreateSelect(better, flat, index), index_slot_);
      return;
    }
    default:
      throw Error(absl::StrCat("cpu codegen: ", sv(ir::op_name(k_.reduce_op)),
                               " is not a reduction"));
  }
}

}  // namespace

void emit_loops(const LoopKernel& kernel, llvm::Module& module, std::string_view symbol,
                Variant variant) {
  KernelEmitter(kernel, module).emit(symbol, variant);
}

}  // namespace kiln::backends::cpu::codegen
