#include "kiln/passes/constant_fold.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"

namespace kiln::passes {
namespace {

using ir::Op;

// ---- The interpreter's element semantics (backends/interp/element.h, binary.cpp,
// elementwise.cpp, reduce.cpp), restated here because passes may not include backends. Each
// function mirrors one there expression for expression, so that the C++ compiler produces the
// same IEEE operations; tests/interp/simplify_values_test.cpp checks folded graphs against
// the interpreter bit for bit. A stored element is represented by its canonical Scalar. ----

// Calls f(std::type_identity<C>{}) with the compute type C of `dtype`: float for float32,
// float16 and bfloat16, double for float64, int64_t for the integer dtypes and bool.
template <class F>
decltype(auto) with_compute(DType dtype, F&& f) {
  if (dtype == float64) return f(std::type_identity<double>{});
  if (is_floating_point(dtype)) return f(std::type_identity<float>{});
  return f(std::type_identity<int64_t>{});
}

// A stored element (canonical Scalar of a dtype computing in C) read as a compute value; exact.
template <class C>
C load(const Scalar& stored) {
  if constexpr (std::is_integral_v<C>)
    return stored.to_int64();
  else
    return static_cast<C>(stored.to_double());
}

// Stores compute value v into `dtype` (which computes in C): float16/bfloat16 round to nearest
// even, integers keep their low bits, bool stores v != 0.
template <class C>
Scalar store(DType dtype, C v) {
  if constexpr (std::is_same_v<C, int64_t>) {
    switch (dtype.kind()) {
      case DType::Kind::kInt8:
        return Scalar(static_cast<int8_t>(v));
      case DType::Kind::kInt16:
        return Scalar(static_cast<int16_t>(v));
      case DType::Kind::kInt32:
        return Scalar(static_cast<int32_t>(v));
      case DType::Kind::kInt64:
        return Scalar(v);
      case DType::Kind::kUInt8:
        return Scalar(static_cast<uint8_t>(v));
      case DType::Kind::kBool:
        return Scalar(v != 0);
      default:
        break;
    }
  } else if constexpr (std::is_same_v<C, float>) {
    switch (dtype.kind()) {
      case DType::Kind::kFloat32:
        return Scalar(static_cast<double>(v));
      case DType::Kind::kFloat16:
        return Scalar(static_cast<double>(static_cast<float>(Half(v))));
      case DType::Kind::kBFloat16:
        return Scalar(static_cast<double>(static_cast<float>(BFloat16(v))));
      default:
        break;
    }
  } else {
    if (dtype == float64) return Scalar(v);
  }
  throw Error("internal error: constant-fold: dtype does not compute in this type");
}

inline int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

int64_t float_to_int64(double x) {
  if (std::isnan(x)) return 0;
  if (x >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
  if (x < -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(x);
}

template <class To, class From>
To convert(From v) {
  if constexpr (std::is_same_v<To, From>)
    return v;
  else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>)
    return float_to_int64(static_cast<double>(v));
  else
    return static_cast<To>(v);
}

// Cast semantics: bool tests truth on the source value (0.5 and NaN are true).
template <class C>
Scalar store_converted(DType to, C v) {
  if (to == boolean) return Scalar(v != 0);
  return with_compute(to, [&]<class D>(std::type_identity<D>) { return store(to, convert<D>(v)); });
}

// Wrapping exponentiation by squaring; negative exponents as in PyTorch.
int64_t int_pow(int64_t base, int64_t exponent) {
  if (exponent < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exponent & 1) != 0 ? -1 : 1;
    return 0;
  }
  uint64_t result = 1;
  uint64_t factor = static_cast<uint64_t>(base);
  for (uint64_t e = static_cast<uint64_t>(exponent); e != 0; e >>= 1) {
    if ((e & 1) != 0) result *= factor;
    factor *= factor;
  }
  return static_cast<int64_t>(result);
}

template <class C>
std::optional<C> unary_of(Op op, C x) {
  constexpr bool kInt = std::is_integral_v<C>;
  switch (op) {
    case Op::neg:
      if constexpr (kInt)
        return wrap_sub(0, x);
      else
        return -x;
    case Op::abs:
      if constexpr (kInt)
        return x < 0 ? wrap_sub(0, x) : x;
      else
        return std::fabs(x);
    case Op::sign:
      return static_cast<C>((C(0) < x) - (x < C(0)));
    case Op::relu:
      return x < C(0) ? C(0) : x;
    case Op::floor:
      if constexpr (kInt)
        return x;
      else
        return std::floor(x);
    case Op::ceil:
      if constexpr (kInt)
        return x;
      else
        return std::ceil(x);
    case Op::round:
      if constexpr (kInt)
        return x;
      else
        return std::nearbyint(x);
    case Op::trunc:
      if constexpr (kInt)
        return x;
      else
        return std::trunc(x);
    default:
      break;
  }
  if constexpr (!kInt) {
    switch (op) {
      case Op::sqrt:
        return std::sqrt(x);
      case Op::rsqrt:
        return C(1) / std::sqrt(x);
      case Op::reciprocal:
        return C(1) / x;
      case Op::exp:
        return std::exp(x);
      case Op::expm1:
        return std::expm1(x);
      case Op::log:
        return std::log(x);
      case Op::log2:
        return std::log2(x);
      case Op::log10:
        return std::log10(x);
      case Op::log1p:
        return std::log1p(x);
      case Op::sin:
        return std::sin(x);
      case Op::cos:
        return std::cos(x);
      case Op::tan:
        return std::tan(x);
      case Op::tanh:
        return std::tanh(x);
      case Op::sigmoid:
        return C(1) / (C(1) + std::exp(-x));
      case Op::erf:
        return std::erf(x);
      default:
        break;
    }
  }
  return std::nullopt;
}

template <class C>
std::optional<C> binary_of(Op op, C a, C b) {
  constexpr bool kInt = std::is_integral_v<C>;
  switch (op) {
    case Op::add:
      if constexpr (kInt)
        return wrap_add(a, b);
      else
        return a + b;
    case Op::sub:
      if constexpr (kInt)
        return wrap_sub(a, b);
      else
        return a - b;
    case Op::mul:
      if constexpr (kInt)
        return wrap_mul(a, b);
      else
        return a * b;
    case Op::div:
      if constexpr (kInt) {
        if (b == 0) return std::nullopt;  // ZeroDivisionError when run: keep it
        if (b == -1) return wrap_sub(0, a);
        return a / b;
      } else {
        return a / b;
      }
    case Op::pow:
      if constexpr (kInt)
        return int_pow(a, b);
      else
        return std::pow(a, b);
    case Op::maximum:
      if constexpr (!kInt) {
        if (std::isnan(a)) return a;
        if (std::isnan(b)) return b;
      }
      return a < b ? b : a;
    case Op::minimum:
      if constexpr (!kInt) {
        if (std::isnan(a)) return a;
        if (std::isnan(b)) return b;
      }
      return b < a ? b : a;
    default:
      return std::nullopt;
  }
}

std::optional<bool> compare(Op op, DType dtype, const Scalar& a, const Scalar& b) {
  return with_compute(dtype, [&]<class C>(std::type_identity<C>) -> std::optional<bool> {
    const C x = load<C>(a), y = load<C>(b);
    switch (op) {
      case Op::eq:
        return x == y;
      case Op::ne:
        return x != y;
      case Op::lt:
        return x < y;
      case Op::le:
        return x <= y;
      case Op::gt:
        return x > y;
      case Op::ge:
        return x >= y;
      default:
        return std::nullopt;
    }
  });
}

// The interpreter's pairwise float sum of n copies of v: blocks of up to 16 summed in order,
// halves added. Only the (at most two) distinct sizes per level are computed.
double pairwise_sum_of_copies(double v, int64_t n, absl::flat_hash_map<int64_t, double>& memo) {
  constexpr int64_t kBlock = 16;
  if (n <= kBlock) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += v;
    return sum;
  }
  if (auto it = memo.find(n); it != memo.end()) return it->second;
  const int64_t half = n / 2;
  const double sum =
      pairwise_sum_of_copies(v, half, memo) + pairwise_sum_of_copies(v, n - half, memo);
  memo.emplace(n, sum);
  return sum;
}

// A reduction over n copies of stored value x; nullopt when the interpreter would fail (an
// empty amax/amin/argmax/argmin) or the product would take too long to replay.
std::optional<Scalar> fold_reduction(Op op, DType dtype, const Scalar& x, int64_t n,
                                     const ir::TensorType& result) {
  if (op == Op::argmax || op == Op::argmin) {
    if (n == 0) return std::nullopt;
    return Scalar(int64_t{0});  // all elements tie (or the first is NaN): the first index
  }
  if (op == Op::amax || op == Op::amin) {
    if (n == 0) return std::nullopt;
    return x;  // load then store of the same element
  }
  return with_compute(dtype, [&]<class C>(std::type_identity<C>) -> std::optional<Scalar> {
    const C v = load<C>(x);
    if constexpr (std::is_integral_v<C>) {
      // n wrapping additions of v make n * v, n wrapping multiplications make v^n (mod 2^64).
      if (op == Op::sum) return store(result.dtype, wrap_mul(n, v));
      if (op == Op::prod) return store(result.dtype, int_pow(v, n));
    } else {
      if (op == Op::sum) {
        absl::flat_hash_map<int64_t, double> memo;
        return store(result.dtype, static_cast<C>(pairwise_sum_of_copies(v, n, memo)));
      }
      if (op == Op::prod) {
        // Replays the products until they reach a fixed point (0, inf, NaN, 1) or n.
        constexpr int64_t kMaxSteps = int64_t{1} << 20;
        double product = 1.0;
        int64_t i = 0;
        for (; i < n && i < kMaxSteps; ++i) {
          const double next = product * v;
          if (std::memcmp(&next, &product, sizeof next) == 0) {
            i = n;
            break;
          }
          product = next;
        }
        if (i < n) return std::nullopt;
        return store(result.dtype, static_cast<C>(product));
      }
    }
    return std::nullopt;
  });
}

// The stored result of elementwise `node` on stored operand values `in`; nullopt when the op
// is not folded or would fail.
std::optional<Scalar> fold_elementwise(const ir::Node& node, absl::Span<const Scalar> in,
                                       absl::Span<const DType> in_dtypes) {
  const Op op = node.op;
  if (op == Op::cast) {
    return with_compute(in_dtypes[0], [&]<class C>(std::type_identity<C>) {
      return store_converted(node.type.dtype, load<C>(in[0]));
    });
  }
  if (op == Op::where) return in[0].to_bool() ? in[1] : in[2];
  // Truth values: a canonical Scalar's to_bool is the interpreter's x != 0 (NaN is true).
  if (op == Op::logical_not) return Scalar(!in[0].to_bool());
  if (op == Op::logical_and) return Scalar(in[0].to_bool() && in[1].to_bool());
  if (op == Op::logical_or) return Scalar(in[0].to_bool() || in[1].to_bool());
  if (ir::has_trait(op, ir::kComparison)) {
    const std::optional<bool> r = compare(op, in_dtypes[0], in[0], in[1]);
    if (!r) return std::nullopt;
    return Scalar(*r);
  }
  // When both operands of add or mul are NaNs, IEEE leaves open which one comes out, and x86
  // returns the first operand of the instruction, whose order the C++ compiler picks for a
  // commutative op: the interpreter's choice may differ between its builds, so no fold can match
  // it. (Equal NaNs, and one NaN with a number, are determined.)
  if ((op == Op::add || op == Op::mul) && is_floating_point(node.type.dtype) &&
      std::isnan(in[0].to_double()) && std::isnan(in[1].to_double()) && !(in[0] == in[1]))
    return std::nullopt;
  return with_compute(node.type.dtype,
                      [&]<class C>(std::type_identity<C>) -> std::optional<Scalar> {
                        std::optional<C> r;
                        if (in.size() == 1) r = unary_of<C>(op, load<C>(in[0]));
                        if (in.size() == 2) r = binary_of<C>(op, load<C>(in[0]), load<C>(in[1]));
                        if (!r) return std::nullopt;
                        return store(node.type.dtype, *r);
                      });
}

bool all_ones(const Shape& shape) {
  for (int64_t d : shape)
    if (d != 1) return false;
  return true;
}

// The splat value of `node` (operands in the graph `splats` describes) when it is a constant
// or a movement op of splats: every element it holds was an element of a splat.
std::optional<Scalar> splat_of(const ir::Node& node, const SplatValues& splats) {
  switch (node.op) {
    case Op::constant:
      return stored_value(std::get<ir::ConstantAttrs>(node.attrs).value, node.type.dtype);
    case Op::reshape:
    case Op::expand:
    case Op::permute:
    case Op::slice:
    case Op::as_strided:
      return splats[node.inputs[0]];
    case Op::cat: {
      const std::optional<Scalar>& first = splats[node.inputs[0]];
      for (ir::ValueId v : node.inputs)
        if (!splats[v] || !(*splats[v] == *first)) return std::nullopt;
      return first;
    }
    default:
      return std::nullopt;
  }
}

// True when `node` (operands in `g`) is exactly what add_splat emits, so that folding it again
// would change nothing.
bool is_canonical_splat(const ir::Graph& g, const ir::Node& node) {
  if (node.op == Op::constant) return true;
  if (node.type.shape.empty()) return false;
  const bool ones = all_ones(node.type.shape);
  if (node.op == Op::reshape) return ones && g.node(node.inputs[0]).op == Op::constant;
  if (node.op == Op::expand && !ones) {
    const ir::Node& r = g.node(node.inputs[0]);
    return r.op == Op::reshape && all_ones(r.type.shape) && g.node(r.inputs[0]).op == Op::constant;
  }
  return false;
}

// The stored value of `node` (operands in `g`) when all its operands are splats and the
// result is one too; nullopt for leaves.
std::optional<Scalar> fold(const ir::Graph& g, const ir::Node& node, const SplatValues& splats) {
  if (node.inputs.empty()) return std::nullopt;
  absl::InlinedVector<Scalar, 3> in;
  absl::InlinedVector<DType, 3> dtypes;
  for (ir::ValueId v : node.inputs) {
    if (!splats[v]) return std::nullopt;
    in.push_back(*splats[v]);
    dtypes.push_back(g.node(v).type.dtype);
  }
  const Op op = node.op;
  if (ir::has_trait(op, ir::kElementwise)) return fold_elementwise(node, in, dtypes);
  if (ir::has_trait(op, ir::kReduction)) {
    const Shape& shape = g.node(node.inputs[0]).type.shape;
    int64_t n = 1;  // a 0-d input reduces its one element (it may name axis 0)
    for (int64_t axis : std::get<ir::ReduceAttrs>(node.attrs).axes) {
      // An expanded constant may describe more elements than int64 counts; leave those be.
      if (axis < static_cast<int64_t>(shape.size()) &&
          __builtin_mul_overflow(n, shape[static_cast<size_t>(axis)], &n))
        return std::nullopt;
    }
    return fold_reduction(op, dtypes[0], in[0], n, node.type);
  }
  switch (op) {
    case Op::reshape:
    case Op::expand:
    case Op::permute:
    case Op::slice:
    case Op::as_strided:
    case Op::cat:
      return splat_of(node, splats);
    case Op::as_strided_scatter:
      // Every element comes from the base or the source, and both hold the same value.
      if (in[0] == in[1]) return in[0];
      return std::nullopt;
    default:
      // Indexing may fail on out-of-range indices when run; matmul and any op added later
      // (random ones in particular) are not folded.
      return std::nullopt;
  }
}

}  // namespace

Scalar stored_value(const Scalar& value, DType dtype) {
  // As the interpreter's constant node: a Python float converts like a float64 value, an int
  // like an int64 one, a bool as 0/1.
  if (value.is_floating_point()) return store_converted(dtype, value.to_double());
  return store_converted(dtype, value.to_int64());
}

void SplatValues::update(const ir::Graph& g) {
  for (ir::ValueId id = static_cast<ir::ValueId>(values_.size()); id < g.size(); ++id)
    values_.push_back(splat_of(g.node(id), *this));
}

ir::ValueId add_splat(ir::Graph& g, const Scalar& value, const ir::TensorType& type) {
  ir::ValueId id = g.add_constant(value, type.dtype);
  if (type.shape.empty()) return id;
  const Shape ones(type.shape.size(), 1);
  id = g.add_node(
      ir::Node{Op::reshape, ir::TensorType{type.dtype, ones}, {id}, ir::ShapeAttrs{ones}});
  if (type.shape == ones) return id;
  return g.add_node(ir::Node{Op::expand, type, {id}, ir::ShapeAttrs{type.shape}});
}

bool ConstantFoldPass::run(ir::Graph& g) {
  const ir::ValueId n = g.size();
  // Rebuilt in one forward walk: a folded node's splat is appended where the node was, so the
  // topological order holds; new_id maps old ids to the rebuilt graph's.
  ir::Graph out;
  SplatValues splats;
  std::vector<ir::ValueId> new_id(static_cast<size_t>(n));
  bool changed = false;
  for (ir::ValueId id = 0; id < n; ++id) {
    ir::Node node = std::move(g.mutable_node(id));
    for (ir::ValueId& in : node.inputs) in = new_id[static_cast<size_t>(in)];
    std::optional<Scalar> folded;
    if (!is_canonical_splat(out, node)) folded = fold(out, node, splats);
    if (folded) {
      new_id[static_cast<size_t>(id)] = add_splat(out, *folded, node.type);
      changed = true;
    } else {
      new_id[static_cast<size_t>(id)] = out.add_node(std::move(node));
    }
    splats.update(out);
  }
  std::vector<ir::ValueId> outputs = g.outputs();
  for (ir::ValueId& o : outputs) o = new_id[static_cast<size_t>(o)];
  out.set_outputs(std::move(outputs));
  g = std::move(out);
  return changed;
}

}  // namespace kiln::passes
