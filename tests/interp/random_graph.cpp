#include "interp/random_graph.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>

#include "kiln/ir/libm_ops.h"
#include "kiln/runtime/half.h"

namespace kiln::testing {

uint64_t Rng::next() {  // splitmix64: tiny, fast, and the same stream everywhere
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

namespace {

using ir::Op;
using ir::TensorType;
using ir::ValueId;

constexpr DType kDTypes[] = {float32, float64, float16, bfloat16, int8,
                             int16,   int32,   int64,   uint8,    boolean};
constexpr DType kFloatDTypes[] = {float32, float64, float16, bfloat16};
constexpr Op kUnary[] = {Op::neg,   Op::abs,        Op::sign,    Op::relu,       Op::sqrt,
                         Op::rsqrt, Op::reciprocal, Op::exp,     Op::expm1,      Op::log,
                         Op::log2,  Op::log10,      Op::log1p,   Op::sin,        Op::cos,
                         Op::tan,   Op::tanh,       Op::sigmoid, Op::erf,        Op::floor,
                         Op::ceil,  Op::round,      Op::trunc,   Op::logical_not};
constexpr Op kArithmetic[] = {Op::add, Op::sub,     Op::mul,    Op::div,
                              Op::pow, Op::maximum, Op::minimum};
constexpr Op kComparisons[] = {Op::eq, Op::ne, Op::lt, Op::le, Op::gt, Op::ge};
constexpr Op kReductions[] = {Op::sum, Op::prod, Op::amax, Op::amin, Op::argmax, Op::argmin};

template <class T, size_t N>
const T& one_of(Rng& rng, const T (&items)[N]) {
  return items[rng.below(static_cast<int64_t>(N))];
}

// Right-aligned broadcasting (NumPy rules): `from` can be expanded to `to`.
bool broadcastable(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const size_t lead = to.size() - from.size();
  for (size_t d = 0; d < from.size(); ++d)
    if (from[d] != to[lead + d] && from[d] != 1) return false;
  return true;
}

std::optional<Shape> broadcast_shape(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x != y && x != 1 && y != 1) return std::nullopt;
    out[i] = x == 1 ? y : x;
  }
  return out;
}

class Builder {
 public:
  Builder(uint64_t seed, const RandomGraphOptions& options) : rng_(seed), o_(options) {}

  RandomGraph build() {
    const int inputs = static_cast<int>(rng_.range(1, 3));
    for (int i = 0; i < inputs; ++i)
      new_input(TensorType{one_of(rng_, kDTypes), random_shape(rng_.range(0, o_.max_rank))});
    const int target = static_cast<int>(rng_.range(o_.min_ops, o_.max_ops));
    while (ops_ < target) step();
    std::vector<ValueId> outputs = {pool_.back()};
    for (int64_t extra = rng_.range(0, 2); extra > 0; --extra)
      outputs.push_back(pool_[static_cast<size_t>(rng_.below(static_cast<int64_t>(pool_.size())))]);
    out_.graph.set_outputs(outputs);
    return std::move(out_);
  }

 private:
  const TensorType& type(ValueId v) const { return out_.graph.node(v).type; }

  // Whether a compiled backend may round `op` on these operands differently from the
  // interpreter (RandomGraphOptions::exact_float_math).
  bool inexact(Op op, const std::vector<ValueId>& in) const {
    const bool floating = !in.empty() && is_floating_point(type(in[0]).dtype);
    // pow of integers runs on the interpreter's own code on every backend: exact.
    if (op == Op::pow) return floating || is_floating_point(type(in[1]).dtype);
    if (ir::is_libm_op(op)) return true;
    if (op == Op::sum || op == Op::prod) return floating;
    if (op == Op::matmul) return floating;
    return false;
  }

  ValueId add(Op op, std::vector<ValueId> in, ir::Attrs attrs = ir::NoAttrs{}) {
    if (o_.exact_float_math && inexact(op, in)) {
      if (ir::has_trait(op, ir::kElementwise) && in.size() == 1) {
        op = Op::neg;
      } else if (op == Op::pow) {
        op = Op::mul;
      } else {
        for (ValueId& v : in) v = add(Op::cast, {v}, ir::CastAttrs{int64});
      }
    }
    auto id = out_.graph.add(op, in, std::move(attrs));
    if (!id.ok())
      throw std::logic_error("random_graph built an invalid node: " + id.status().ToString() +
                             "\n" + ir::to_string(out_.graph));
    ++ops_;
    pool_.push_back(*id);
    return *id;
  }

  ValueId new_input(TensorType t, int64_t index_bound = 0) {
    out_.inputs.push_back(InputSpec{t, index_bound});
    const ValueId id = out_.graph.add_input(std::move(t));
    if (index_bound == 0) pool_.push_back(id);  // index tensors only index
    return id;
  }

  ValueId constant(DType dtype) {
    static constexpr double kFloats[] = {0.0, 1.0, -1.0, 0.5, 2.0, -3.25, 1e-3, 3.0};
    Scalar value = 0;
    if (dtype == boolean)
      value = rng_.chance(50);
    else if (is_floating_point(dtype))
      value = rng_.chance(5) ? std::numeric_limits<double>::quiet_NaN() : one_of(rng_, kFloats);
    else
      value = rng_.range(-5, 5);
    return out_.graph.add_constant(value, dtype);
  }

  Shape random_shape(int64_t rank) {
    Shape s;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t r = rng_.below(100);
      s.push_back(r < 4 ? 0 : r < 26 ? 1 : rng_.range(2, o_.max_size));
    }
    return s;
  }

  // Mostly recent values, so that chains form; sometimes any earlier one (shared subexpressions).
  ValueId pick() {
    const int64_t n = static_cast<int64_t>(pool_.size());
    if (rng_.chance(55))
      return pool_[static_cast<size_t>(n - 1 - rng_.below(std::min<int64_t>(n, 3)))];
    return pool_[static_cast<size_t>(rng_.below(n))];
  }
  ValueId pick_or_constant(DType dtype) {
    if (rng_.chance(20)) return constant(dtype);
    return cast_to(pick(), dtype);
  }

  ValueId cast_to(ValueId v, DType dtype) {
    return type(v).dtype == dtype ? v : add(Op::cast, {v}, ir::CastAttrs{dtype});
  }

  ValueId reshape(ValueId v, Shape shape) {
    return type(v).shape == shape ? v : add(Op::reshape, {v}, ir::ShapeAttrs{std::move(shape)});
  }

  // Shapes are taken by value: adding nodes may move the graph's nodes, and with them any
  // reference to a node's shape.
  ValueId broadcast_to(ValueId v, Shape shape) {
    Shape padded(shape.size() - type(v).shape.size(), 1);
    padded.insert(padded.end(), type(v).shape.begin(), type(v).shape.end());
    v = reshape(v, padded);
    return padded == shape ? v : add(Op::expand, {v}, ir::ShapeAttrs{shape});
  }

  // Strides and offset of a random window of `sizes` inside `n` elements (n > 0 or an empty
  // window); falls back to zero strides, which always fit.
  ir::StridedAttrs window(const Shape& sizes, int64_t n) {
    ir::StridedAttrs a{sizes, Shape(sizes.size(), 0), 0};
    if (numel(sizes) == 0) {
      for (int64_t& s : a.strides) s = rng_.range(0, 3);
      a.offset = rng_.range(0, 3);
      return a;
    }
    for (int attempt = 0; attempt < 4; ++attempt) {
      int64_t last = 0;
      for (size_t d = 0; d < sizes.size(); ++d) {
        a.strides[d] = rng_.range(0, 4);
        last += (sizes[d] - 1) * a.strides[d];
      }
      if (last < n) {
        a.offset = rng_.range(0, n - 1 - last);
        return a;
      }
    }
    std::fill(a.strides.begin(), a.strides.end(), 0);
    a.offset = rng_.range(0, n - 1);
    return a;
  }

  // A value of `shape` (and v's dtype) derived from v: broadcast, reshape, strided window, or a
  // broadcast constant when v has no elements to draw from.
  ValueId shape_like(ValueId v, Shape shape) {
    const Shape from = type(v).shape;
    if (broadcastable(from, shape)) return broadcast_to(v, shape);
    if (numel(from) == numel(shape) && rng_.chance(70)) return reshape(v, shape);
    if (numel(from) > 0 || numel(shape) == 0)
      return add(Op::as_strided, {v}, window(shape, numel(from)));
    return broadcast_to(constant(type(v).dtype), shape);
  }

  // Two operands of one shape from a and b: broadcast both when they allow it, else b like a.
  std::pair<ValueId, ValueId> same_shape(ValueId a, ValueId b) {
    const std::optional<Shape> common = broadcast_shape(type(a).shape, type(b).shape);
    if (common && numel(*common) <= 1024)
      return {broadcast_to(a, *common), broadcast_to(b, *common)};
    return {a, shape_like(b, type(a).shape)};
  }

  ValueId ensure_rank(ValueId v, size_t rank) {
    if (type(v).shape.size() >= rank) return v;
    Shape s(rank - type(v).shape.size(), 1);
    s.insert(s.end(), type(v).shape.begin(), type(v).shape.end());
    return reshape(v, s);
  }

  void unary() {
    ValueId v = pick();
    const Op op = one_of(rng_, kUnary);
    if (ir::has_trait(op, ir::kFloatOnly) && !is_floating_point(type(v).dtype))
      v = cast_to(v, one_of(rng_, kFloatDTypes));
    add(op, {v});
  }

  void binary(Op op) {
    ValueId a = pick();
    const DType dtype = type(a).dtype;
    ValueId b = pick_or_constant(dtype);
    if (ir::has_trait(op, ir::kLogical))
      b = rng_.chance(50) ? b : cast_to(b, one_of(rng_, kDTypes));
    auto [x, y] = same_shape(a, b);
    // An integer divisor of 0 throws in the interpreter: max(y, 1) is never 0.
    if (op == Op::div && !is_floating_point(dtype))
      y = add(Op::maximum, {y, broadcast_to(out_.graph.add_constant(1, dtype), type(y).shape)});
    add(op, {x, y});
  }

  void where() {
    ValueId cond = pick();
    if (type(cond).dtype != boolean)
      cond = rng_.chance(50)
                 ? cast_to(cond, boolean)
                 : add(Op::gt, {cond, broadcast_to(constant(type(cond).dtype), type(cond).shape)});
    const ValueId a = pick();
    const ValueId b = pick_or_constant(type(a).dtype);
    const Shape shape = type(cond).shape;
    add(Op::where, {cond, shape_like(a, shape), shape_like(b, shape)});
  }

  ValueId permute(ValueId v) {
    Shape perm(type(v).shape.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
    for (size_t i = perm.size(); i > 1; --i)
      std::swap(perm[i - 1], perm[rng_.below(static_cast<int64_t>(i))]);
    return add(Op::permute, {v}, ir::PermuteAttrs{perm});
  }

  // A slice along `dim` (-1: a random dim, preferably one with room to slice).
  ValueId slice(ValueId v, int64_t dim = -1) {
    v = ensure_rank(v, 1);
    const Shape& s = type(v).shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    for (int attempt = 0; dim < 0 || (dim >= rank) || (s[dim] < 2 && attempt < 3); ++attempt)
      dim = rng_.below(rank);
    const int64_t size = s[dim];
    const bool nonempty = size > 0 && rng_.chance(85);
    const int64_t start = nonempty ? rng_.range(0, size - 1) : rng_.range(0, size);
    const int64_t stop = rng_.range(nonempty ? start + 1 : start, size);
    return add(Op::slice, {v}, ir::SliceAttrs{dim, start, stop, rng_.range(1, 3)});
  }

  ValueId expand(ValueId v) {
    Shape s = type(v).shape;
    if (std::find(s.begin(), s.end(), 1) == s.end()) {
      s.insert(s.begin() + rng_.below(static_cast<int64_t>(s.size()) + 1), 1);
      v = reshape(v, s);
    }
    for (int64_t& d : s)
      if (d == 1 && rng_.chance(70)) d = rng_.chance(5) ? 0 : rng_.range(2, o_.max_size);
    return add(Op::expand, {v}, ir::ShapeAttrs{s});
  }

  // A random shape with n elements: n's factors spread over 0..4 dims, with size-1 dims between.
  Shape shape_with_numel(int64_t n) {
    Shape s;
    if (n == 0) {
      s = random_shape(rng_.range(1, 4));
      s[static_cast<size_t>(rng_.below(static_cast<int64_t>(s.size())))] = 0;
      return s;
    }
    const int64_t rank = rng_.range(n == 1 ? 0 : 1, 4);
    s.assign(static_cast<size_t>(rank), 1);
    for (int64_t p = 2; n > 1; ++p)
      while (n % p == 0) {
        s[static_cast<size_t>(rng_.below(rank))] *= p;
        n /= p;
      }
    return s;
  }

  ValueId reshape_op(ValueId v, bool unit_only = false) {
    Shape s = type(v).shape;
    if (unit_only || rng_.chance(40)) {  // only size-1 dims move (folds into the index arithmetic)
      s.erase(std::remove(s.begin(), s.end(), 1), s.end());
      for (int64_t k = rng_.range(0, 2); k > 0 && s.size() < 5; --k)
        s.insert(s.begin() + rng_.below(static_cast<int64_t>(s.size()) + 1), 1);
    } else {
      s = shape_with_numel(numel(s));
    }
    return add(Op::reshape, {v}, ir::ShapeAttrs{s});
  }

  void as_strided() {
    const ValueId v = pick();
    const int64_t n = numel(type(v).shape);
    Shape sizes = random_shape(rng_.range(0, 3));
    if (n == 0 && numel(sizes) != 0) sizes.push_back(0);
    add(Op::as_strided, {v}, window(sizes, n));
  }

  void reduction(ValueId v) {
    const Shape& s = type(v).shape;
    Op op = one_of(rng_, kReductions);
    Shape axes;
    if (op == Op::argmax || op == Op::argmin) {
      axes.push_back(s.empty() ? 0 : rng_.below(static_cast<int64_t>(s.size())));
    } else if (s.empty()) {
      if (rng_.chance(50)) axes.push_back(0);
    } else {
      const bool all = rng_.chance(25);
      for (size_t d = 0; d < s.size(); ++d)
        if (all || rng_.chance(55)) axes.push_back(static_cast<int64_t>(d));
    }
    // amax/amin/argmax/argmin of nothing throws (as in PyTorch): sum it instead.
    for (int64_t axis : axes)
      if (axis < static_cast<int64_t>(s.size()) && s[axis] == 0) op = Op::sum;
    if (op == Op::sum && axes.size() != 1 && rng_.chance(10)) axes.clear();
    add(op, {v}, ir::ReduceAttrs{axes, rng_.chance(40)});
  }

  void matmul() {
    ValueId a = ensure_rank(pick(), 2);
    Shape b_shape = type(a).shape;
    b_shape[b_shape.size() - 2] = b_shape.back();
    b_shape.back() = rng_.range(0, 4);
    const ValueId b = shape_like(pick_or_constant(type(a).dtype), b_shape);
    add(Op::matmul, {a, b});
  }

  void cat() {
    const ValueId a = ensure_rank(pick(), 1);
    const DType dtype = type(a).dtype;
    const int64_t dim = rng_.below(static_cast<int64_t>(type(a).shape.size()));
    std::vector<ValueId> operands = {a};
    for (int64_t k = rng_.range(1, 2); k > 0; --k) {
      Shape s = type(a).shape;
      s[dim] = rng_.range(0, 3);
      operands.push_back(shape_like(pick_or_constant(dtype), s));
    }
    add(Op::cat, operands, ir::AxisAttrs{dim});
  }

  // k index tensors for `shape` at `dim`, as graph inputs holding in-range values.
  std::vector<ValueId> index_tensors(const Shape& shape, int64_t dim, int64_t k) {
    Shape idx = random_shape(rng_.range(0, 2));
    for (int64_t j = 0; j < k; ++j)
      if (shape[dim + j] == 0 && numel(idx) != 0) idx.push_back(0);
    std::vector<ValueId> ids;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t size = shape[dim + j];
      if (idx.empty() && size > 0 && rng_.chance(40))  // a constant index (x[2] in the frontend)
        ids.push_back(out_.graph.add_constant(rng_.range(-size, size - 1), int64));
      else
        ids.push_back(new_input(TensorType{int64, idx}, std::max<int64_t>(size, 1)));
    }
    return ids;
  }

  void index(bool put) {
    const ValueId base = ensure_rank(pick(), 1);
    const Shape s = type(base).shape;
    const int64_t rank = static_cast<int64_t>(s.size());
    const int64_t dim = rng_.below(rank);
    const int64_t k = rng_.range(1, std::min<int64_t>(2, rank - dim));
    const std::vector<ValueId> idx = index_tensors(s, dim, k);
    if (!put) {
      std::vector<ValueId> operands = {base};
      operands.insert(operands.end(), idx.begin(), idx.end());
      add(Op::index, operands, ir::AxisAttrs{dim});
      return;
    }
    Shape values(s.begin(), s.begin() + dim);
    const Shape& idx_shape = type(idx[0]).shape;
    values.insert(values.end(), idx_shape.begin(), idx_shape.end());
    values.insert(values.end(), s.begin() + dim + k, s.end());
    std::vector<ValueId> operands = {base, shape_like(pick_or_constant(type(base).dtype), values)};
    operands.insert(operands.end(), idx.begin(), idx.end());
    add(Op::index_put, operands, ir::IndexPutAttrs{dim, rng_.chance(50)});
  }

  void as_strided_scatter() {
    const ValueId base = pick();
    const int64_t n = numel(type(base).shape);
    Shape sizes = random_shape(rng_.range(0, 3));
    if (n == 0 && numel(sizes) != 0) sizes.push_back(0);
    ir::StridedAttrs attrs = window(sizes, n);
    const ValueId src = shape_like(pick_or_constant(type(base).dtype), sizes);
    add(Op::as_strided_scatter, {base, src}, std::move(attrs));
  }

  // Two slices along the widest dim, the outer starting past 0, so that their starts and steps
  // compose (the outer start scales by the inner step).
  ValueId slice_of_slice(ValueId v) {
    v = ensure_rank(v, 1);
    const Shape& s = type(v).shape;
    const int64_t dim = std::max_element(s.begin(), s.end()) - s.begin();
    const int64_t size = s[dim];
    if (size < 3) return slice(v, dim);
    const ValueId inner =
        add(Op::slice, {v}, ir::SliceAttrs{dim, rng_.range(0, 1), size, rng_.range(1, 3)});
    const int64_t n = type(inner).shape[dim];
    if (n < 2) return inner;
    const int64_t start = rng_.range(1, n - 1);
    return add(Op::slice, {inner},
               ir::SliceAttrs{dim, start, rng_.range(start + 1, n), rng_.range(1, 2)});
  }

  // Views stacked on a computed value and then consumed, so that they fold into one kernel's
  // index arithmetic (slices of slices, permuted broadcasts, ...).
  void view_chain() {
    ValueId v = pick();
    if (rng_.chance(70)) v = add(Op::neg, {v});
    for (int64_t k = rng_.range(2, 4); k > 0; --k) {
      const int64_t r = rng_.below(4);
      v = r == 0   ? permute(v)
          : r == 1 ? (rng_.chance(40) ? slice_of_slice(v) : slice(v))
          : r == 2 ? expand(v)
                   : reshape_op(v, true);
    }
    if (rng_.chance(25)) return reduction(v);
    const ValueId b = shape_like(pick_or_constant(type(v).dtype), type(v).shape);
    add(rng_.chance(50) ? Op::mul : Op::maximum, {v, b});
  }

  void step() {
    const int64_t r = rng_.below(100);
    if (r < 14) return unary();
    if (r < 19) return (void)add(Op::cast, {pick()}, ir::CastAttrs{one_of(rng_, kDTypes)});
    if (r < 33) return binary(one_of(rng_, kArithmetic));
    if (r < 39) return binary(one_of(rng_, kComparisons));
    if (r < 41) return binary(rng_.chance(50) ? Op::logical_and : Op::logical_or);
    if (r < 45) return where();
    if (r < 48) return (void)permute(pick());
    if (r < 52) return (void)slice(pick());
    if (r < 56) return (void)expand(pick());
    if (r < 62) return (void)reshape_op(pick());
    if (r < 69) return view_chain();
    if (r < 73) return as_strided();
    if (r < 86) return reduction(pick());
    if (r < 89) return matmul();
    if (r < 92) return cat();
    if (r < 94) return index(false);
    if (r < 96) return index(true);
    if (r < 98) return as_strided_scatter();
    pool_.push_back(constant(one_of(rng_, kDTypes)));  // a constant as a value of its own
  }

  Rng rng_;
  RandomGraphOptions o_;
  RandomGraph out_;
  std::vector<ValueId> pool_;
  int ops_ = 0;
};

// One element of `dtype` holding `v` (floats rounded, integers wrapped, bool 0/1).
void store_element(DType dtype, double v, int64_t bits, unsigned char* out) {
  if (dtype == float32) {
    const float f = static_cast<float>(v);
    std::memcpy(out, &f, 4);
  } else if (dtype == float64) {
    std::memcpy(out, &v, 8);
  } else if (dtype == float16 || dtype == bfloat16) {
    const float f = static_cast<float>(v);
    const uint16_t h = dtype == float16 ? Half::from_float(f) : BFloat16::from_float(f);
    std::memcpy(out, &h, 2);
  } else if (dtype == boolean) {
    *out = bits & 1;
  } else {
    std::memcpy(out, &bits, itemsize(dtype));  // little endian: the low bytes wrap
  }
}

}  // namespace

RandomGraph random_graph(uint64_t seed, const RandomGraphOptions& options) {
  return Builder(seed, options).build();
}

std::vector<backends::BufferPtr> random_inputs(const RandomGraph& g, uint64_t seed) {
  static constexpr double kSpecial[] = {std::numeric_limits<double>::quiet_NaN(),
                                        std::numeric_limits<double>::infinity(),
                                        -std::numeric_limits<double>::infinity(),
                                        -0.0,
                                        1e30,
                                        -1e-30,
                                        65504.0,
                                        1e5};
  Rng rng(seed ^ 0x5eedda7aull);
  std::vector<backends::BufferPtr> buffers;
  for (const InputSpec& spec : g.inputs) {
    const DType dtype = spec.type.dtype;
    const int64_t n = numel(spec.type.shape);
    const size_t size = itemsize(dtype);
    backends::BufferPtr buffer = runtime::Buffer::allocate(static_cast<size_t>(n) * size);
    auto* out = static_cast<unsigned char*>(buffer->data());
    for (int64_t i = 0; i < n; ++i) {
      double v = 0;
      int64_t bits = 0;
      if (spec.index_bound > 0) {
        bits = rng.range(-spec.index_bound, spec.index_bound - 1);
      } else if (is_floating_point(dtype)) {
        const int64_t r = rng.below(100);
        v = r < 50   ? static_cast<double>(rng.range(-8, 8)) / 2
            : r < 85 ? rng.uniform() * 6 - 3
                     : one_of(rng, kSpecial);
      } else {
        bits = rng.chance(70) ? rng.range(-4, 4) : static_cast<int64_t>(rng.next());
      }
      store_element(dtype, v, bits, out + static_cast<size_t>(i) * size);
    }
    buffers.push_back(std::move(buffer));
  }
  return buffers;
}

}  // namespace kiln::testing
