// Constant folding: a node whose operands are all splats (a scalar constant, possibly seen
// through reshape/expand/permute/slice/as_strided/cat) and whose result is again a splat is
// replaced by a fresh splat holding the value the reference interpreter would compute.
//
// Folded: elementwise ops and casts (all dtypes, with the interpreter's element semantics:
// float32/float16/bfloat16 arithmetic in float with rounding on store, float64 in double,
// integers in wrapping int64 truncated to their width, bool as truth), movement ops of splats,
// as_strided_scatter of two equal splats, and reductions of splats (sum in the interpreter's
// pairwise order, prod by repeated multiplication, amax/amin/argmax/argmin). Never folded:
// integer division by zero and empty amax/amin/argmax/argmin (they must still fail when run),
// float add/mul of two different NaNs (which one x86 returns depends on how the compiler
// ordered the interpreter's operands), indexing and matmul, and any op not on the explicit
// list (a future random op included).
// A splat is emitted in the frontend's canonical form: constant [] -> reshape to [1, ..., 1]
// -> expand to the shape; nodes already in that form are left alone, so the pass converges.
// The replaced nodes' operands are left for DCE.
// Pre: a verified graph. Post: a verified graph, outputs remapped, every value bit-identical.
//
//   %0 = constant() {value=2.0} : f32[]         %0 = constant() {value=2.0} : f32[]
//   %1 = reshape(%0) {shape=[1]} : f32[1]        %1 = reshape(%0) {shape=[1]} : f32[1]
//   %2 = expand(%1) {shape=[3]} : f32[3]   ->    %2 = expand(%1) {shape=[3]} : f32[3]
//   %3 = exp(%2) : f32[3]                        %3 = constant() {value=7.389056205749512} : f32[]
//   return %3                                    %4 = reshape(%3) {shape=[1]} : f32[1]
//                                                %5 = expand(%4) {shape=[3]} : f32[3]
//                                                return %5
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "kiln/ir/graph.h"
#include "kiln/passes/pass.h"

namespace kiln::passes {

class ConstantFoldPass : public Pass {
 public:
  std::string_view name() const override { return "constant-fold"; }
  bool run(ir::Graph& g) override;
};

// The element a constant node {value} of `dtype` holds once the interpreter stores it (floats
// rounded to the dtype, integers wrapped to its width, bool as truth), in canonical form: a
// floating Scalar for floating dtypes, an integer one for integer dtypes, a bool for bool.
// Two canonical values of one dtype are equal (Scalar's bitwise ==) exactly when their stored
// elements are.
Scalar stored_value(const Scalar& value, DType dtype);

// The canonical element value of every node of a graph that holds one value in all its
// elements (a splat), as far as constants seen through movement ops tell; nullopt elsewhere.
// Passes that build a graph node by node call update() after appending, so lookups stay O(1).
class SplatValues {
 public:
  // Records every node of `g` not recorded yet (their operands must be recorded or be among
  // them).
  void update(const ir::Graph& g);
  const std::optional<Scalar>& operator[](ir::ValueId id) const {
    return values_[static_cast<size_t>(id)];
  }

 private:
  std::vector<std::optional<Scalar>> values_;
};

// Appends a splat of canonical `value` with `type` in the canonical form described above and
// returns its id.
ir::ValueId add_splat(ir::Graph& g, const Scalar& value, const ir::TensorType& type);

}  // namespace kiln::passes
