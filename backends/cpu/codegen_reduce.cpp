// Reduction loop nests of the CPU backend: per kept point, blocks of kept points, and the
// partial reductions of a split (split_reduction.h), with the accumulators of every reduce op.
//
// Every kept point reduces its elements in the interpreter's row-major order over the reduced
// dims, which argmax's "first index" and the sequential floating product depend on. The
// floating sum adds in an order of its own, fixed by the sizes alone: long rows go to kSumLanes
// interleaved lanes (lane l takes a row's elements l, l + kSumLanes, ...), each lane adds in
// order, and the lanes are added pairwise at the end. The lanes vectorize without letting the
// compiler reorder anything, so a sum's bits do not depend on the CPU's vector width or on
// what else the loop computes: a sum grouped with its siblings (passes/group_kernels.h) gives
// what it gives alone. A kernel with several stores (sums or products only,
// ir::verify_kernel) keeps one accumulator per store and feeds each the same way from one
// evaluation of the expressions per element.
#include <limits>

#include "absl/strings/str_cat.h"
#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cpu/codegen_loops.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cpu::codegen {

using ir::KernelExpr;
using ir::Op;

namespace {

// Lanes of an extreme's scan: two AVX2 vectors of float32 (independent compare/select chains,
// to hide their latency).
constexpr int64_t kExtremeLanes = 16;
// Lanes of a floating sum: double accumulators, 8 AVX-512 or 16 AVX2 vectors. Fewer make the
// chain of dependent adds the bottleneck of a fused kernel: on ((x*2+1).exp()*x).sum() over
// 16M floats (2 cores, AVX-512), 16 lanes took 4.30 ms, 32 lanes 4.19 ms, 64 lanes 3.76 ms,
// and the compiler's own reassociated vector sum 3.70 ms.
constexpr int64_t kSumLanes = 64;
// Rows shorter than this scan sequentially: the lanes' setup and combine would cost more than
// they save.
constexpr int64_t kMinLanedRow = 32;

bool is_extreme(Op op) {
  return op == Op::amax || op == Op::amin || op == Op::argmax || op == Op::argmin;
}

}  // namespace

llvm::Type* KernelEmitter::acc_type() {
  llvm::Type* type = s_.compute_type(reduced_dtype());
  // The interpreter sums and multiplies floating values in double.
  const Op op = k_.reduce_op;
  if (type->isFloatingPointTy() && (op == Op::sum || op == Op::prod)) return b_.getDoubleTy();
  return type;
}

llvm::Value* KernelEmitter::acc_init() {
  // The identity of sum/prod; for the extremes a value every element beats or ties (ties keep
  // the first index, so a row of -inf still reports its first element).
  const Op op = k_.reduce_op;
  llvm::Type* type = acc_type();
  const bool floating = type->isFloatingPointTy();
  const bool want_max = op == Op::amax || op == Op::argmax;
  if (op == Op::sum) return llvm::Constant::getNullValue(type);
  if (op == Op::prod)
    return floating ? llvm::ConstantFP::get(type, 1.0) : llvm::ConstantInt::get(type, 1);
  if (floating) return llvm::ConstantFP::getInfinity(type, /*Negative=*/want_max);
  return want_max ? i64(std::numeric_limits<int64_t>::min())
                  : i64(std::numeric_limits<int64_t>::max());
}

KernelEmitter::Values KernelEmitter::store_accumulators(llvm::Value* count) {
  Values accs;
  for (size_t s = 0; s < k_.stores.size(); ++s) accs.push_back(b_.CreateAlloca(acc_type(), count));
  return accs;
}

void KernelEmitter::start_kept(llvm::Value* begin) {
  // Only reached with begin < end, so every kept size is nonzero.
  llvm::Value* rest = begin;
  for (int32_t d = kept_ - 1; d > 0; --d) {
    b_.CreateStore(b_.CreateURem(rest, sizes_[d]), coord_slots_[d]);
    rest = b_.CreateUDiv(rest, sizes_[d]);
  }
  if (kept_ > 0) b_.CreateStore(rest, coord_slots_[0]);
  b_.CreateStore(begin, pos_slot_);
}

void KernelEmitter::step_kept(llvm::Value* count, llvm::BasicBlock* next, llvm::BasicBlock* exit) {
  llvm::Type* t = b_.getInt64Ty();
  if (kept_ == 0) {
    b_.CreateBr(exit);  // a single point
    return;
  }
  // The caller checked that the range goes on, so the outermost kept dim never overflows.
  for (int32_t d = kept_ - 1; d > 0; --d) {
    llvm::Value* c =
        b_.CreateAdd(b_.CreateLoad(t, coord_slots_[d]), d == kept_ - 1 ? count : i64(1));
    llvm::Value* fits = b_.CreateICmpULT(c, sizes_[d]);
    b_.CreateStore(b_.CreateSelect(fits, c, i64(0)), coord_slots_[d]);
    llvm::BasicBlock* carry = block("carry");
    b_.CreateCondBr(fits, next, carry);
    b_.SetInsertPoint(carry);
  }
  b_.CreateStore(b_.CreateAdd(b_.CreateLoad(t, coord_slots_[0]), kept_ == 1 ? count : i64(1)),
                 coord_slots_[0]);
  b_.CreateBr(next);
}

void KernelEmitter::reduced_loops(int32_t d, const Values& bases, llvm::Value* flat, bool hoist,
                                  const ReducedBody& inner) {
  const bool innermost = d == rank_ - 1;
  if (innermost && hoist) hoist_loads(bases, d);
  llvm::BasicBlock* pre = b_.GetInsertBlock();
  llvm::BasicBlock* head = block(innermost ? "reduce.inner" : "reduce.outer");
  llvm::BasicBlock* after = block("reduce.after");
  b_.CreateBr(head);
  b_.SetInsertPoint(head);
  llvm::PHINode* r = b_.CreatePHI(b_.getInt64Ty(), 2, "r");
  r->addIncoming(i64(0), pre);
  llvm::Value* index = b_.CreateAdd(b_.CreateMul(flat, sizes_[d]), r);
  const Values here = advance(bases, d, {r});
  if (innermost) {
    inner(here, index);
  } else {
    reduced_loops(d + 1, here, index, hoist, inner);
  }
  llvm::Value* next = b_.CreateAdd(r, i64(1));
  r->addIncoming(next, b_.GetInsertBlock());
  b_.CreateCondBr(b_.CreateICmpEQ(next, sizes_[d]), after, head);
  b_.SetInsertPoint(after);
}

llvm::Value* KernelEmitter::reduced_result(llvm::Value* acc, llvm::Value* index) {
  if (k_.reduce_op == Op::argmax || k_.reduce_op == Op::argmin)
    return b_.CreateLoad(b_.getInt64Ty(), index);
  const DType dtype = reduced_dtype();
  llvm::Value* result = b_.CreateLoad(acc_type(), acc);
  // The interpreter rounds its double sum (product) to the compute type, then stores.
  if (result->getType()->isFloatingPointTy())
    result = b_.CreateFPCast(result, s_.compute_type(dtype));
  return s_.from_compute(dtype, result);
}

void KernelEmitter::emit_reduction(llvm::Value* begin, llvm::Value* end) {
  if (points_per_block(k_) > 1) return emit_blocked_reduction(begin, end);
  const Values accs = store_accumulators(i64(1));
  llvm::AllocaInst* index = b_.CreateAlloca(b_.getInt64Ty());
  const bool laned = scans_in_lanes();
  const Lanes lanes = laned ? make_lanes() : Lanes{};
  // The reduced extent is empty when any reduced size is 0: sum gives 0, prod 1.
  llvm::Value* nonempty = b_.getTrue();
  for (int32_t d = kept_; d < rank_; ++d)
    nonempty = b_.CreateAnd(nonempty, b_.CreateICmpNE(sizes_[d], i64(0)));
  llvm::BasicBlock* start = block("start");
  llvm::BasicBlock* exit = block("exit");
  b_.CreateCondBr(b_.CreateICmpSLT(begin, end), start, exit);

  // Parallel points are the kept coordinates, stepped by an odometer; each reduces all of the
  // reduced dims in nested loops, the innermost one a contiguous walk that vectorizes.
  b_.SetInsertPoint(start);
  start_kept(begin);
  llvm::BasicBlock* point = block("point");
  b_.CreateBr(point);
  b_.SetInsertPoint(point);
  Values coords;
  for (int32_t d = 0; d < kept_; ++d)
    coords.push_back(b_.CreateLoad(b_.getInt64Ty(), coord_slots_[d]));
  llvm::Value* pos = b_.CreateLoad(b_.getInt64Ty(), pos_slot_);
  const Values bases = advance(offsets_, 0, coords);
  for (llvm::Value* a : accs) b_.CreateStore(acc_init(), a);
  b_.CreateStore(i64(0), index);
  llvm::BasicBlock* loops = block("reduce");
  llvm::BasicBlock* finish = block("finish");
  b_.CreateCondBr(nonempty, loops, finish);
  b_.SetInsertPoint(loops);
  if (laned) {
    llvm::BasicBlock* in_lanes = block("reduce.lanes");
    llvm::BasicBlock* in_order = block("reduce.sequential");
    b_.CreateCondBr(b_.CreateICmpSGE(sizes_[rank_ - 1], i64(kMinLanedRow)), in_lanes, in_order);
    b_.SetInsertPoint(in_lanes);
    lanes_init(lanes, i64(0));
    reduced_rows(kept_, bases, i64(0), [&](const Values& row, llvm::Value* flat) {
      scan_row_in_lanes(row, sizes_[rank_ - 1], flat, lanes);
    });
    combine_lanes(lanes, accs, index);
    b_.CreateBr(finish);
    b_.SetInsertPoint(in_order);
  }
  reduced_loops(kept_, bases, i64(0), /*hoist=*/true, [&](const Values& here, llvm::Value* flat) {
    const Values v = evaluate(here, -1, nullptr);
    for (size_t s = 0; s < accs.size(); ++s)
      accumulate(v[k_.stores[s].second], flat, accs[s], index);
  });
  b_.CreateBr(finish);

  b_.SetInsertPoint(finish);
  for (size_t s = 0; s < accs.size(); ++s) {
    const size_t out = static_cast<size_t>(k_.stores[s].first);
    s_.store(k_.args[out].dtype, reduced_result(accs[s], index), address(out, bases[out]));
  }
  llvm::Value* new_pos = b_.CreateAdd(pos, i64(1));
  b_.CreateStore(new_pos, pos_slot_);
  llvm::BasicBlock* step = block("step");
  b_.CreateCondBr(b_.CreateICmpSGE(new_pos, end), exit, step);
  b_.SetInsertPoint(step);
  step_kept(i64(1), point, exit);
  b_.SetInsertPoint(exit);
  b_.CreateRetVoid();
}

void KernelEmitter::emit_blocked_reduction(llvm::Value* begin, llvm::Value* end) {
  llvm::Type* i64_type = b_.getInt64Ty();
  const int64_t kBlock = points_per_block(k_);
  const Values accs = store_accumulators(i64(kBlock));
  llvm::Value* indices = b_.CreateAlloca(i64_type, i64(kBlock));
  llvm::Value* nonempty = b_.getTrue();
  for (int32_t d = kept_; d < rank_; ++d)
    nonempty = b_.CreateAnd(nonempty, b_.CreateICmpNE(sizes_[d], i64(0)));
  llvm::BasicBlock* start = block("start");
  llvm::BasicBlock* exit = block("exit");
  b_.CreateCondBr(b_.CreateICmpSLT(begin, end), start, exit);

  // A block: up to kBlock consecutive points along the innermost kept dim. The reduced loops
  // run outside, an inner loop across the block's points inside: it reads neighbouring
  // elements and updates independent accumulators, so it vectorizes without reordering any
  // point's own sequence of elements.
  b_.SetInsertPoint(start);
  start_kept(begin);
  llvm::BasicBlock* head = block("block");
  b_.CreateBr(head);
  b_.SetInsertPoint(head);
  const int32_t inner_kept = kept_ - 1;
  Values coords;
  for (int32_t d = 0; d < kept_; ++d) coords.push_back(b_.CreateLoad(i64_type, coord_slots_[d]));
  llvm::Value* pos = b_.CreateLoad(i64_type, pos_slot_);
  const Values bases = advance(offsets_, 0, coords);
  auto smin = [&](llvm::Value* a, llvm::Value* b) {
    return b_.CreateSelect(b_.CreateICmpSLT(a, b), a, b);
  };
  llvm::Value* count = smin(
      smin(b_.CreateSub(sizes_[inner_kept], coords.back()), b_.CreateSub(end, pos)), i64(kBlock));
  auto acc_at = [&](size_t s, llvm::Value* j) {
    return b_.CreateInBoundsGEP(acc_type(), accs[s], j);
  };
  auto index_at = [&](llvm::Value* j) { return b_.CreateInBoundsGEP(i64_type, indices, j); };
  counted_loop(count, "init", [&](llvm::Value* j) {
    for (size_t s = 0; s < accs.size(); ++s) b_.CreateStore(acc_init(), acc_at(s, j));
    b_.CreateStore(i64(0), index_at(j));
  });
  llvm::BasicBlock* loops = block("reduce");
  llvm::BasicBlock* finish = block("finish");
  b_.CreateCondBr(nonempty, loops, finish);
  b_.SetInsertPoint(loops);
  reduced_loops(kept_, bases, i64(0), /*hoist=*/false, [&](const Values& here, llvm::Value* flat) {
    hoist_loads(here, inner_kept);
    llvm::BranchInst* across = counted_loop(count, "across", [&](llvm::Value* j) {
      // Each point scans its elements in order, so amax/amin need no index to stay exact.
      const bool by_index = k_.reduce_op == Op::argmax || k_.reduce_op == Op::argmin;
      const Values v = evaluate(here, inner_kept, j);
      for (size_t s = 0; s < accs.size(); ++s)
        accumulate(v[k_.stores[s].second], flat, acc_at(s, j), by_index ? index_at(j) : nullptr);
    });
    // Points are independent: as in the lanes (scan_row_in_lanes), full-width float vectors.
    vectorize_with_width(across, float_vector_lanes_);
  });
  b_.CreateBr(finish);

  b_.SetInsertPoint(finish);
  counted_loop(count, "store", [&](llvm::Value* j) {
    for (size_t s = 0; s < accs.size(); ++s) {
      const size_t out = static_cast<size_t>(k_.stores[s].first);
      s_.store(k_.args[out].dtype, reduced_result(acc_at(s, j), index_at(j)),
               address(out, offset_at(out, bases, inner_kept, j)));
    }
  });
  llvm::Value* new_pos = b_.CreateAdd(pos, count);
  b_.CreateStore(new_pos, pos_slot_);
  llvm::BasicBlock* step = block("step");
  b_.CreateCondBr(b_.CreateICmpSGE(new_pos, end), exit, step);
  b_.SetInsertPoint(step);
  step_kept(count, head, exit);
  b_.SetInsertPoint(exit);
  b_.CreateRetVoid();
}

void KernelEmitter::emit_partial(llvm::Value* point, llvm::Value* begin, llvm::Value* end,
                                 llvm::Value* state) {
  const Values accs = store_accumulators(i64(1));
  llvm::AllocaInst* index = b_.CreateAlloca(b_.getInt64Ty());
  const bool laned = scans_in_lanes();
  const Lanes lanes = laned ? make_lanes() : Lanes{};
  // The kept coordinates of `point`, then the reduced flat range [begin, end) in runs.
  llvm::Value* rest = point;
  Values coords(static_cast<size_t>(kept_), nullptr);
  for (int32_t d = kept_ - 1; d >= 0; --d) {
    coords[d] = d > 0 ? b_.CreateURem(rest, sizes_[d]) : rest;
    if (d > 0) rest = b_.CreateUDiv(rest, sizes_[d]);
  }
  const Values bases = advance(offsets_, 0, coords);
  for (llvm::Value* a : accs) b_.CreateStore(acc_init(), a);
  b_.CreateStore(begin, index);
  llvm::BasicBlock* runs = block("runs");
  llvm::BasicBlock* write = block("write");
  b_.CreateCondBr(b_.CreateICmpSLT(begin, end), runs, write);
  b_.SetInsertPoint(runs);
  if (laned) {
    // A split range is long by construction (split_reduction.h): always in lanes.
    lanes_init(lanes, begin);
    emit_runs(kept_, bases, begin, end,
              [&](const Values& run_bases, llvm::Value* length, llvm::Value* flat) {
                scan_row_in_lanes(run_bases, length, flat, lanes);
              });
    combine_lanes(lanes, accs, index);
  } else {
    emit_runs(kept_, bases, begin, end,
              [&](const Values& run_bases, llvm::Value* length, llvm::Value* flat) {
                counted_loop(length, "inner", [&](llvm::Value* j) {
                  const Values v = evaluate(run_bases, rank_ - 1, j);
                  for (size_t s = 0; s < accs.size(); ++s)
                    accumulate(v[k_.stores[s].second], b_.CreateAdd(flat, j), accs[s], index);
                });
              });
  }
  b_.CreateBr(write);

  // One ReductionState per store: the accumulator as int64 bits (floating ones widened to
  // double, exactly) and the index.
  b_.SetInsertPoint(write);
  llvm::Value* slots = b_.CreatePointerCast(state, llvm::PointerType::getUnqual(b_.getInt64Ty()));
  for (size_t s = 0; s < accs.size(); ++s) {
    llvm::Value* value = b_.CreateLoad(acc_type(), accs[s]);
    if (value->getType()->isFloatingPointTy())
      value = b_.CreateBitCast(b_.CreateFPCast(value, b_.getDoubleTy()), b_.getInt64Ty());
    const auto slot = static_cast<int64_t>(2 * s);
    b_.CreateAlignedStore(value, b_.CreateInBoundsGEP(b_.getInt64Ty(), slots, i64(slot)),
                          llvm::Align(8));
    b_.CreateAlignedStore(b_.CreateLoad(b_.getInt64Ty(), index),
                          b_.CreateInBoundsGEP(b_.getInt64Ty(), slots, i64(slot + 1)),
                          llvm::Align(8));
  }
  b_.CreateRetVoid();
}

void KernelEmitter::reduced_rows(int32_t d, const Values& bases, llvm::Value* flat,
                                 const ReducedBody& row) {
  if (d == rank_ - 1) {
    hoist_loads(bases, d);
    row(bases, b_.CreateMul(flat, sizes_[d]));
    return;
  }
  llvm::BasicBlock* pre = b_.GetInsertBlock();
  llvm::BasicBlock* head = block("rows.outer");
  llvm::BasicBlock* after = block("rows.after");
  b_.CreateBr(head);
  b_.SetInsertPoint(head);
  llvm::PHINode* r = b_.CreatePHI(b_.getInt64Ty(), 2, "r");
  r->addIncoming(i64(0), pre);
  reduced_rows(d + 1, advance(bases, d, {r}), b_.CreateAdd(b_.CreateMul(flat, sizes_[d]), r), row);
  llvm::Value* next = b_.CreateAdd(r, i64(1));
  r->addIncoming(next, b_.GetInsertBlock());
  b_.CreateCondBr(b_.CreateICmpEQ(next, sizes_[d]), after, head);
  b_.SetInsertPoint(after);
}

bool KernelEmitter::scans_in_lanes() {
  return is_extreme(k_.reduce_op) || (k_.reduce_op == Op::sum && acc_type()->isFloatingPointTy());
}

KernelEmitter::Lanes KernelEmitter::make_lanes() {
  Lanes lanes;
  const bool extreme = is_extreme(k_.reduce_op);
  lanes.count = extreme ? kExtremeLanes : kSumLanes;
  for (size_t s = 0; s < k_.stores.size(); ++s)
    lanes.accs.push_back(b_.CreateAlloca(acc_type(), i64(lanes.count)));
  if (extreme) lanes.indices = b_.CreateAlloca(b_.getInt64Ty(), i64(lanes.count));
  return lanes;
}

void KernelEmitter::lanes_init(const Lanes& lanes, llvm::Value* first) {
  for (int64_t l = 0; l < lanes.count; ++l) {
    for (llvm::Value* accs : lanes.accs)
      b_.CreateStore(acc_init(), b_.CreateInBoundsGEP(acc_type(), accs, i64(l)));
    if (lanes.indices != nullptr)
      b_.CreateStore(first, b_.CreateInBoundsGEP(b_.getInt64Ty(), lanes.indices, i64(l)));
  }
}

void KernelEmitter::scan_row_in_lanes(const Values& bases, llvm::Value* length, llvm::Value* flat,
                                      const Lanes& lanes) {
  const int32_t dim = rank_ - 1;
  auto element = [&](llvm::Value* j, llvm::Value* lane) {
    const Values v = evaluate(bases, dim, j);
    llvm::Value* index = lanes.indices == nullptr
                             ? nullptr
                             : b_.CreateInBoundsGEP(b_.getInt64Ty(), lanes.indices, lane);
    for (size_t s = 0; s < lanes.accs.size(); ++s)
      accumulate(v[k_.stores[s].second], b_.CreateAdd(flat, j),
                 b_.CreateInBoundsGEP(acc_type(), lanes.accs[s], lane), index);
  };
  llvm::Value* chunks = b_.CreateUDiv(length, i64(lanes.count));
  llvm::Value* whole = b_.CreateMul(chunks, i64(lanes.count));
  llvm::BasicBlock* chunked = block("lanes.chunks");
  llvm::BasicBlock* tail_check = block("lanes.tail.check");
  llvm::BasicBlock* tail = block("lanes.tail");
  llvm::BasicBlock* done = block("lanes.done");
  b_.CreateCondBr(b_.CreateICmpNE(chunks, i64(0)), chunked, tail_check);
  // Whole chunks: lane l takes element c * count + l; the lane loop has no dependence
  // between its iterations.
  b_.SetInsertPoint(chunked);
  counted_loop(chunks, "lanes.chunk", [&](llvm::Value* c) {
    llvm::Value* start = b_.CreateMul(c, i64(lanes.count));
    llvm::BranchInst* back = counted_loop(i64(lanes.count), "lanes.lane", [&](llvm::Value* l) {
      element(b_.CreateAdd(start, l), l);
    });
    // The vectorizer sizes its vectors by the widest type in the loop: the double accumulators
    // of a float32 sum (or the int64 indices of an argmax) would halve the width of everything
    // else, the fused elementwise work included. One vector register of floats per step instead.
    vectorize_with_width(back, float_vector_lanes_);
  });
  b_.CreateBr(tail_check);
  // The rest of the row: element whole + t to lane t (still j % count).
  b_.SetInsertPoint(tail_check);
  llvm::Value* rest = b_.CreateSub(length, whole);
  b_.CreateCondBr(b_.CreateICmpNE(rest, i64(0)), tail, done);
  b_.SetInsertPoint(tail);
  counted_loop(rest, "lanes.rest", [&](llvm::Value* t) { element(b_.CreateAdd(whole, t), t); });
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

void KernelEmitter::combine_lanes(const Lanes& lanes, const Values& accs, llvm::Value* index) {
  llvm::Type* type = acc_type();
  if (lanes.indices == nullptr) {
    // Sums: each store's lanes added pairwise, (l0 + l1) + (l2 + l3) and so on up the tree,
    // then to what the accumulator already holds.
    for (size_t s = 0; s < accs.size(); ++s) {
      Values level;
      for (int64_t l = 0; l < lanes.count; ++l)
        level.push_back(b_.CreateLoad(type, b_.CreateInBoundsGEP(type, lanes.accs[s], i64(l))));
      while (level.size() > 1) {
        Values next;
        for (size_t i = 0; i + 1 < level.size(); i += 2)
          next.push_back(b_.CreateFAdd(level[i], level[i + 1]));
        if (level.size() % 2 != 0) next.push_back(level.back());
        level = std::move(next);
      }
      b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(type, accs[s]), level[0]), accs[s]);
    }
    return;
  }
  llvm::Type* i64_type = b_.getInt64Ty();
  llvm::Value* acc_lanes = lanes.accs[0];
  llvm::Value* indices = lanes.indices;
  const bool floating = type->isFloatingPointTy();
  const bool want_max = k_.reduce_op == Op::amax || k_.reduce_op == Op::argmax;
  llvm::Value* best = b_.CreateLoad(type, b_.CreateInBoundsGEP(type, acc_lanes, i64(0)));
  llvm::Value* best_index =
      b_.CreateLoad(i64_type, b_.CreateInBoundsGEP(i64_type, indices, i64(0)));
  for (int64_t l = 1; l < lanes.count; ++l) {
    llvm::Value* v = b_.CreateLoad(type, b_.CreateInBoundsGEP(type, acc_lanes, i64(l)));
    llvm::Value* i = b_.CreateLoad(i64_type, b_.CreateInBoundsGEP(i64_type, indices, i64(l)));
    // A sequential scan keeps the first NaN, else the first element equal to the extreme: the
    // lane holding the earlier such element wins.
    llvm::Value* earlier = b_.CreateICmpSLT(i, best_index);
    llvm::Value* better = nullptr;
    if (floating) {
      llvm::Value* v_nan = b_.CreateFCmpUNO(v, v);
      llvm::Value* best_nan = b_.CreateFCmpUNO(best, best);
      llvm::Value* beyond = want_max ? b_.CreateFCmpOGT(v, best) : b_.CreateFCmpOLT(v, best);
      llvm::Value* tie = b_.CreateAnd(b_.CreateFCmpOEQ(v, best), earlier);
      better = b_.CreateSelect(best_nan, b_.CreateAnd(v_nan, earlier),
                               b_.CreateOr(v_nan, b_.CreateOr(beyond, tie)));
    } else {
      llvm::Value* beyond = want_max ? b_.CreateICmpSGT(v, best) : b_.CreateICmpSLT(v, best);
      better = b_.CreateOr(beyond, b_.CreateAnd(b_.CreateICmpEQ(v, best), earlier));
    }
    best = b_.CreateSelect(better, v, best);
    best_index = b_.CreateSelect(better, i, best_index);
  }
  b_.CreateStore(best, accs[0]);
  b_.CreateStore(best_index, index);
}

void KernelEmitter::accumulate(llvm::Value* value, llvm::Value* flat, llvm::Value* acc_ptr,
                               llvm::Value* index_ptr) {
  llvm::Type* type = acc_type();
  llvm::Value* x = s_.to_compute(reduced_dtype(), value);
  llvm::Value* acc = b_.CreateLoad(type, acc_ptr);
  const bool floating = x->getType()->isFloatingPointTy();
  switch (k_.reduce_op) {
    case Op::sum: {
      if (!floating) {
        b_.CreateStore(b_.CreateAdd(acc, x), acc_ptr);  // wraps
        return;
      }
      // In order: the lanes (scan_row_in_lanes) are what vectorizes a long row.
      b_.CreateStore(b_.CreateFAdd(acc, b_.CreateFPCast(x, type)), acc_ptr);
      return;
    }
    case Op::prod:  // sequential, as the interpreter multiplies
      b_.CreateStore(floating ? b_.CreateFMul(acc, b_.CreateFPCast(x, type)) : b_.CreateMul(acc, x),
                     acc_ptr);
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
      b_.CreateStore(b_.CreateSelect(better, x, acc), acc_ptr);
      if (index_ptr == nullptr) return;  // the value alone is asked for
      llvm::Value* index = b_.CreateLoad(b_.getInt64Ty(), index_ptr);
      b_.CreateStore(b_.CreateSelect(better, flat, index), index_ptr);
      return;
    }
    default:
      throw Error(
          absl::StrCat("cpu codegen: ", sv(ir::op_name(k_.reduce_op)), " is not a reduction"));
  }
}

}  // namespace kiln::backends::cpu::codegen
