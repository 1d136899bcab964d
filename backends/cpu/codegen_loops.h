// Internal to the CPU code generator (codegen*.cpp): the loop nests around the scalar code.
// It includes LLVM headers, so no header that other code sees may include it.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "kiln/backends/cpu/codegen_expr.h"
#include "kiln/backends/cpu/jit.h"
#include "kiln/ir/kernel.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"

namespace kiln::backends::cpu::codegen {

enum class Variant {
  kKernel,   // KernelFunction: the points [begin, end) of the parallel space
  kPartial,  // PartialFunction: one kept point, the reduced flat range [begin, end)
};

// Builds the body function of one kernel,
//   internal void SYMBOL.body(T0* noalias p0, ..., i64* sizes, i64* strides, i64* offsets,
//                             SCALARS...)
// and the exported wrapper SYMBOL(i8** data, sizes, strides, offsets, SCALARS...) that loads
// the buffer pointers and calls it. The body's noalias arguments become scoped alias metadata
// when the inliner folds it into the wrapper, so the vectorizer needs no runtime alias checks.
// (Sound: outputs are never read and never alias another argument; inputs may alias each
// other, which noalias allows for memory that is not written.)
//
// The kernel must be emittable (why_not_emittable), and a reduction for kPartial. Loop nests
// of elementwise kernels and shared helpers: codegen_loops.cpp; reductions: codegen_reduce.cpp.
class KernelEmitter {
 public:
  KernelEmitter(const ir::LoopKernel& k, llvm::Module& m)
      : k_(k),
        m_(m),
        b_(m.getContext()),
        s_(b_, m),
        rank_(k.rank),
        kept_(k.rank - (k.kind == ir::LoopKernel::Kind::kReduction ? k.reduced_dims : 0)),
        float_vector_lanes_(float_vector_lanes(Jit::instance().host())) {}

  void emit(std::string_view symbol, Variant variant);

 private:
  using Values = std::vector<llvm::Value*>;
  // The body of a run: arg offsets at the run's start, the run's length (at least 1), and the
  // flat index (over the dims the runs walk) of the run's start.
  using RunBody = std::function<void(const Values& bases, llvm::Value* length, llvm::Value* flat)>;

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
  // for (i = 0; i < n; ++i) body(i), for n >= 1 (a do-while loop).
  // Returns the loop's back edge (for loop metadata).
  llvm::BranchInst* counted_loop(llvm::Value* n, const char* name,
                                 const std::function<void(llvm::Value* i)>& body);
  // Asks LLVM's loop vectorizer to vectorize the loop of `back_edge` with `width` lanes (it
  // still checks legality: a hint cannot change what the loop computes).
  void vectorize_with_width(llvm::BranchInst* back_edge, int width);

  // Loads of args with a zero stride over `dim` (the inner loop's), emitted before that loop.
  void hoist_loads(const Values& bases, int32_t dim);
  // Every expression at the point whose arg offsets are bases + j * stride[dim].
  Values evaluate(const Values& bases, int32_t dim, llvm::Value* j);

  // The flat range [begin, end) (begin < end) of dims [first, rank), row-major: the start is
  // decomposed into coordinates once, then `body` gets each contiguous run of the innermost
  // dim (its loads that do not move along it already hoisted), and an odometer steps to the
  // next run.
  void emit_runs(int32_t first, const Values& bases, llvm::Value* begin, llvm::Value* end,
                 const RunBody& body);
  void emit_elementwise(llvm::Value* begin, llvm::Value* end);

  // Reductions (codegen_reduce.cpp).
  void emit_reduction(llvm::Value* begin, llvm::Value* end);
  void emit_blocked_reduction(llvm::Value* begin, llvm::Value* end);
  void emit_partial(llvm::Value* point, llvm::Value* begin, llvm::Value* end, llvm::Value* state);
  // Decomposes `begin` into the kept coordinate slots; `pos_slot_` := begin.
  void start_kept(llvm::Value* begin);
  // Steps the kept odometer by `count` points along the innermost kept dim (which must not
  // pass its end), carrying into the outer kept dims; branches to `next`.
  void step_kept(llvm::Value* count, llvm::BasicBlock* next, llvm::BasicBlock* exit);
  llvm::Type* acc_type();
  llvm::Value* acc_init();
  // Per store, `count` accumulators (allocas of acc_type()).
  Values store_accumulators(llvm::Value* count);
  // The nested loops over reduced dims [d, rank) in row-major order; `inner` runs at each
  // point of them with the arg offsets there and the point's flat reduced index. With
  // `hoist`, loads that do not move along the innermost dim are done before its loop.
  using ReducedBody = std::function<void(const Values& bases, llvm::Value* flat)>;
  void reduced_loops(int32_t d, const Values& bases, llvm::Value* flat, bool hoist,
                     const ReducedBody& inner);
  // One element into an accumulator; `index` (null: not tracked, for an amax/amin whose
  // elements come in order) follows the extremes' winning element.
  void accumulate(llvm::Value* value, llvm::Value* flat, llvm::Value* acc, llvm::Value* index);
  // The extremes (amax, amin, argmax, argmin) and floating sums scan a row in `count`
  // interleaved lanes (codegen_reduce.cpp). Element j of a row goes to lane j % count, so
  // every lane still sees its elements in order; the lanes are independent, so the scan
  // vectorizes. Lanes holds, per store, `count` accumulators, and for the extremes `count`
  // indices. lanes_init fills them
  // (index: `first`, the flat index of the range's first element); scan_row_in_lanes scans
  // `length` elements along the innermost dim from `bases`, the first at flat index `flat`;
  // combine_lanes folds the lanes into accs (one per store) and index: for a sum, the lanes
  // added pairwise; for an extreme, what one sequential scan of all elements gives: the first
  // NaN, else the first element equal to the extreme.
  struct Lanes {
    int64_t count = 0;
    Values accs;
    llvm::Value* indices = nullptr;
  };
  bool scans_in_lanes();
  Lanes make_lanes();
  void lanes_init(const Lanes& lanes, llvm::Value* first);
  void scan_row_in_lanes(const Values& bases, llvm::Value* length, llvm::Value* flat,
                         const Lanes& lanes);
  void combine_lanes(const Lanes& lanes, const Values& accs, llvm::Value* index);
  // The nested loops over the reduced dims [d, rank - 1); `row` runs for each row of the
  // innermost dim with the arg offsets at its start and its first element's flat index.
  void reduced_rows(int32_t d, const Values& bases, llvm::Value* flat, const ReducedBody& row);
  // The value to store: the accumulator rounded to the dtype, or the index.
  llvm::Value* reduced_result(llvm::Value* acc, llvm::Value* index);

  const ir::LoopKernel& k_;
  llvm::Module& m_;
  llvm::IRBuilder<> b_;
  ScalarEmitter s_;
  const int32_t rank_;
  const int32_t kept_;
  const int float_vector_lanes_;  // floats in one of the host's vector registers
  llvm::Function* fn_ = nullptr;

  Values ptrs_;                  // per arg
  Values sizes_;                 // per dim
  std::vector<Values> strides_;  // per arg, per dim; nullptr for a zero stride
  Values offsets_;               // per arg
  Values constants_;             // per expr: a constant's value (storage form), else nullptr
  std::vector<llvm::AllocaInst*> coord_slots_;  // per dim: the odometer
  llvm::AllocaInst* pos_slot_ = nullptr;
  Values hoisted_;  // per expr: a load done before the inner loop
};

inline void emit_loops(const ir::LoopKernel& kernel, llvm::Module& module, std::string_view symbol,
                       Variant variant) {
  KernelEmitter(kernel, module).emit(symbol, variant);
}

}  // namespace kiln::backends::cpu::codegen
