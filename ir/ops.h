// The op set. KILN_IR_OPS is the one table of ops: the Op enum, the textual names, arity,
// traits and attribute kinds all derive from it. Adding an op starts with one line here.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "kiln/ir/attrs.h"

namespace kiln::ir {

enum Trait : uint32_t {
  kNoTraits = 0,
  kLeaf = 1u << 0,         // no inputs; value comes from outside (input) or attrs (constant)
  kElementwise = 1u << 1,  // output element i depends only on input elements i; same shapes
  kCommutative = 1u << 2,
  kComparison = 1u << 3,   // elementwise with a bool result
  kFloatOnly = 1u << 4,    // inputs must be floating (the frontend casts integers first)
  kReduction = 1u << 5,
  kMovement = 1u << 6,     // only rearranges elements (a view in eager terms)
  kIndexing = 1u << 7,     // gather/scatter with index tensors
  kMutation = 1u << 8,     // functional form of a write into a buffer
  kLogical = 1u << 9,      // inputs are read as truth values; result is bool
};

constexpr int kVariadic = -1;

// X(op, arity, traits, attrs struct)
#define KILN_IR_OPS(X)                                              \
  X(input, 0, kLeaf, InputAttrs)                                    \
  X(constant, 0, kLeaf, ConstantAttrs)                              \
  /* unary elementwise */                                           \
  X(neg, 1, kElementwise, NoAttrs)                                  \
  X(abs, 1, kElementwise, NoAttrs)                                  \
  X(sign, 1, kElementwise, NoAttrs)                                 \
  X(relu, 1, kElementwise, NoAttrs)                                 \
  X(sqrt, 1, kElementwise | kFloatOnly, NoAttrs)                    \
  X(rsqrt, 1, kElementwise | kFloatOnly, NoAttrs)                   \
  X(reciprocal, 1, kElementwise | kFloatOnly, NoAttrs)              \
  X(exp, 1, kElementwise | kFloatOnly, NoAttrs)                     \
  X(expm1, 1, kElementwise | kFloatOnly, NoAttrs)                   \
  X(log, 1, kElementwise | kFloatOnly, NoAttrs)                     \
  X(log2, 1, kElementwise | kFloatOnly, NoAttrs)                    \
  X(log10, 1, kElementwise | kFloatOnly, NoAttrs)                   \
  X(log1p, 1, kElementwise | kFloatOnly, NoAttrs)                   \
  X(sin, 1, kElementwise | kFloatOnly, NoAttrs)                     \
  X(cos, 1, kElementwise | kFloatOnly, NoAttrs)                     \
  X(tan, 1, kElementwise | kFloatOnly, NoAttrs)                     \
  X(tanh, 1, kElementwise | kFloatOnly, NoAttrs)                    \
  X(sigmoid, 1, kElementwise | kFloatOnly, NoAttrs)                 \
  X(erf, 1, kElementwise | kFloatOnly, NoAttrs)                     \
  X(floor, 1, kElementwise, NoAttrs)                                \
  X(ceil, 1, kElementwise, NoAttrs)                                 \
  X(round, 1, kElementwise, NoAttrs)                                \
  X(trunc, 1, kElementwise, NoAttrs)                                \
  X(logical_not, 1, kElementwise | kLogical, NoAttrs)               \
  X(cast, 1, kElementwise, CastAttrs)                               \
  /* binary elementwise (operands have equal shapes and dtypes) */  \
  X(add, 2, kElementwise | kCommutative, NoAttrs)                   \
  X(sub, 2, kElementwise, NoAttrs)                                  \
  X(mul, 2, kElementwise | kCommutative, NoAttrs)                   \
  X(div, 2, kElementwise, NoAttrs)                                  \
  X(pow, 2, kElementwise, NoAttrs)                                  \
  X(maximum, 2, kElementwise | kCommutative, NoAttrs)               \
  X(minimum, 2, kElementwise | kCommutative, NoAttrs)               \
  X(eq, 2, kElementwise | kComparison | kCommutative, NoAttrs)      \
  X(ne, 2, kElementwise | kComparison | kCommutative, NoAttrs)      \
  X(lt, 2, kElementwise | kComparison, NoAttrs)                     \
  X(le, 2, kElementwise | kComparison, NoAttrs)                     \
  X(gt, 2, kElementwise | kComparison, NoAttrs)                     \
  X(ge, 2, kElementwise | kComparison, NoAttrs)                     \
  X(logical_and, 2, kElementwise | kLogical | kCommutative, NoAttrs) \
  X(logical_or, 2, kElementwise | kLogical | kCommutative, NoAttrs) \
  /* ternary: where(cond: bool, a, b) */                            \
  X(where, 3, kElementwise, NoAttrs)                                \
  /* reductions */                                                  \
  X(sum, 1, kReduction, ReduceAttrs)                                \
  X(prod, 1, kReduction, ReduceAttrs)                               \
  X(amax, 1, kReduction, ReduceAttrs)                               \
  X(amin, 1, kReduction, ReduceAttrs)                               \
  X(argmax, 1, kReduction, ReduceAttrs)                             \
  X(argmin, 1, kReduction, ReduceAttrs)                             \
  /* movement */                                                    \
  X(reshape, 1, kMovement, ShapeAttrs)                              \
  X(permute, 1, kMovement, PermuteAttrs)                            \
  X(expand, 1, kMovement, ShapeAttrs)                               \
  X(slice, 1, kMovement, SliceAttrs)                                \
  X(as_strided, 1, kMovement, StridedAttrs)                         \
  X(cat, kVariadic, kMovement, AxisAttrs)                           \
  /* as_strided_scatter(base, src): base with the window replaced by src */ \
  X(as_strided_scatter, 2, kMutation, StridedAttrs)                 \
  /* index(src, i1..ik): gather with k broadcast int64 index tensors at dims dim..dim+k-1 */ \
  X(index, kVariadic, kIndexing, AxisAttrs)                         \
  /* index_put(base, values, i1..ik): scatter (or accumulate) values into base */ \
  X(index_put, kVariadic, kIndexing | kMutation, IndexPutAttrs)     \
  /* matmul(a[..., m, k], b[..., k, n]) with equal batch dims */    \
  X(matmul, 2, kNoTraits, NoAttrs)

enum class Op : uint8_t {
#define KILN_IR_OP_ENUM(name, arity, traits, attrs) name,
  KILN_IR_OPS(KILN_IR_OP_ENUM)
#undef KILN_IR_OP_ENUM
};

#define KILN_IR_OP_COUNT(name, arity, traits, attrs) +1
inline constexpr int kNumOps = 0 KILN_IR_OPS(KILN_IR_OP_COUNT);
#undef KILN_IR_OP_COUNT
// Tables indexed by Op elsewhere static_assert against this number; update them with the table.
static_assert(kNumOps == 59, "the op table changed: update the per-op tables that assert this");

std::string_view op_name(Op op);
std::optional<Op> op_from_name(std::string_view name);
int op_arity(Op op);  // kVariadic for a variable number of inputs
uint32_t op_traits(Op op);
inline bool has_trait(Op op, Trait t) { return (op_traits(op) & t) != 0; }
// A default-constructed attrs value of the struct this op carries (the variant index).
Attrs default_attrs(Op op);
// True when `attrs` holds the struct the op table names for `op`.
bool attrs_match(Op op, const Attrs& attrs);

}  // namespace kiln::ir
