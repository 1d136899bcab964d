#include "kiln/passes/simplify.h"

#include <cmath>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "kiln/ir/infer.h"
#include "kiln/passes/constant_fold.h"

namespace kiln::passes {
namespace {

using ir::Op;
using ir::ValueId;

// Integers without bool: rules that produce neg, or that read -1 or 2, skip bool.
bool is_int(DType t) { return is_integral(t, /*include_bool=*/false); }

int mantissa_digits(DType t) {
  if (t == float16) return 11;
  if (t == bfloat16) return 8;
  if (t == float32) return 24;
  return 53;  // float64
}

// Bits an integer dtype's magnitudes need (-2^k counts as k: a power of two is exact).
int magnitude_bits(DType t) {
  if (t == int8) return 7;
  if (t == uint8) return 8;
  if (t == int16) return 15;
  if (t == int32) return 31;
  return 63;  // int64
}

// True when casting any value of `from` to `to` is exact and loses nothing, so that
// cast(cast(x, to), B) equals cast(x, B) for every B: both then convert the same number (the
// interpreter converts from the compute value, and an exact intermediate leaves it unchanged;
// int -> float and float -> narrower float both round once from that number).
bool converts_exactly(DType from, DType to) {
  if (from == to || from == boolean) return true;  // bool becomes 0 or 1, exact anywhere
  if (to == boolean) return false;
  if (is_integral(from)) {
    if (is_floating_point(to)) return magnitude_bits(from) <= mantissa_digits(to);
    if (to == uint8) return false;  // only uint8 itself fits, handled above
    return from == uint8 ? itemsize(to) >= 2 : itemsize(to) > itemsize(from);
  }
  // Floating to floating: only float16/bfloat16 -> float32/float64 and float32 -> float64.
  if (!is_floating_point(to)) return false;
  if (from == float32) return to == float64;
  if (from == float16 || from == bfloat16) return to == float32 || to == float64;
  return false;
}

// One rule's outcome: no match, an existing value replacing the node, or a rewritten node that
// the rules see again.
using Step = std::variant<std::monostate, ValueId, ir::Node>;

class Simplifier {
 public:
  explicit Simplifier(ir::Graph& out) : out_(out) {}

  // Appends `node` (operands are ids of the graph being built) or what it simplifies to, and
  // returns the value standing for it.
  ValueId add(ir::Node node) {
    while (true) {
      Step step = rewrite(node);
      if (const ValueId* v = std::get_if<ValueId>(&step)) {
        // A replacement must be indistinguishable to every user, so its type must match.
        if (out_.node(*v).type == node.type) {
          changed_ = true;
          return *v;
        }
      } else if (ir::Node* next = std::get_if<ir::Node>(&step)) {
        if (infers(*next, node.type)) {
          changed_ = true;
          node = std::move(*next);
          continue;
        }
      }
      const ValueId id = out_.add_node(std::move(node));
      splats_.update(out_);
      return id;
    }
  }

  bool changed() const { return changed_; }

 private:
  bool infers(const ir::Node& n, const ir::TensorType& want) const {
    absl::InlinedVector<ir::TensorType, 3> types;
    for (ValueId v : n.inputs) types.push_back(out_.node(v).type);
    const auto t = ir::infer_type(n.op, n.attrs, types);
    return t.ok() && *t == want && n.type == want;
  }

  const ir::Node& def(ValueId v) const { return out_.node(v); }
  DType dtype(ValueId v) const { return out_.node(v).type.dtype; }

  // Splat predicates on canonical element values (floating Scalars for floating dtypes).
  bool is_zero(ValueId v, bool negative) const {
    const std::optional<Scalar>& s = splats_[v];
    return s && s->is_floating_point() && s->to_double() == 0.0 &&
           std::signbit(s->to_double()) == negative;
  }
  // An integer or bool splat equal to k.
  bool is_int_value(ValueId v, int64_t k) const {
    const std::optional<Scalar>& s = splats_[v];
    return s && !s->is_floating_point() && s->to_int64() == k;
  }
  // 1 in any dtype (1.0, 1, true).
  bool is_one(ValueId v) const {
    const std::optional<Scalar>& s = splats_[v];
    return s && s->to_double() == 1.0;
  }
  std::optional<bool> truth(ValueId v) const {
    const std::optional<Scalar>& s = splats_[v];
    if (!s) return std::nullopt;
    return s->to_bool();
  }

  static ir::Node with(const ir::Node& n, Op op, absl::InlinedVector<ValueId, 3> inputs,
                       ir::Attrs attrs = ir::NoAttrs{}) {
    return ir::Node{op, n.type, std::move(inputs), std::move(attrs)};
  }

  Step rewrite(const ir::Node& n) {
    if (n.inputs.empty()) return {};
    if (ir::has_trait(n.op, ir::kMovement)) return movement(n);
    if (n.op == Op::cast) return cast(n);
    if (n.op == Op::where) return where(n);
    if (n.inputs.size() == 1 && ir::has_trait(n.op, ir::kElementwise)) return unary(n);
    if (n.inputs.size() == 2 && ir::has_trait(n.op, ir::kElementwise)) return binary(n);
    return {};
  }

  Step binary(const ir::Node& n) {
    const ValueId a = n.inputs[0], b = n.inputs[1];
    const DType t = n.type.dtype;
    const bool fl = is_floating_point(t);
    switch (n.op) {
      case Op::add: {
        // -0.0 is the float identity: -0.0 + -0.0 = -0.0, and 0.0 + -0.0 = 0.0.
        const auto neutral = [&](ValueId v) { return fl ? is_zero(v, true) : is_int_value(v, 0); };
        if (neutral(b)) return a;
        if (neutral(a)) return b;
        return {};
      }
      case Op::sub:
        if (fl ? is_zero(b, false) : is_int_value(b, 0)) return a;
        if (is_int(t) && is_int_value(a, 0)) return with(n, Op::neg, {b});
        return {};
      case Op::mul:
        if (is_one(b)) return a;
        if (is_one(a)) return b;
        if (!fl && is_int_value(b, 0)) return b;  // the zero splat has the result's type
        if (!fl && is_int_value(a, 0)) return a;
        if (is_int(t) && is_int_value(b, -1)) return with(n, Op::neg, {a});
        if (is_int(t) && is_int_value(a, -1)) return with(n, Op::neg, {b});
        return {};
      case Op::div:
        if (is_one(b)) return a;
        if (is_int(t) && is_int_value(b, -1)) return with(n, Op::neg, {a});
        return {};
      case Op::pow:
        // Floats are left alone: glibc's pow(-nan, 1) is +nan, and pow(x, 2) need not round
        // like x * x. Integer pow is the interpreter's own wrapping product.
        if (!fl && is_one(b)) return a;
        if (!fl && is_int_value(b, 2)) return with(n, Op::mul, {a, a});
        return {};
      case Op::maximum:
      case Op::minimum:
        if (a == b) return a;
        return {};
      case Op::logical_and:
      case Op::logical_or: {
        const bool is_and = n.op == Op::logical_and;
        if (a == b && dtype(a) == boolean) return a;
        for (const auto& [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
          const std::optional<bool> ty = truth(y);
          if (!ty) continue;
          if (*ty == is_and && dtype(x) == boolean) return x;  // x and true, x or false
          if (*ty != is_and && dtype(y) == boolean) return y;  // x and false, x or true
        }
        return {};
      }
      default:
        return {};
    }
  }

  Step unary(const ir::Node& n) {
    const ValueId a = n.inputs[0];
    const ir::Node& inner = def(a);
    switch (n.op) {
      case Op::neg:
        if (inner.op == Op::neg) return inner.inputs[0];
        return {};
      case Op::logical_not:
        if (inner.op == Op::logical_not && dtype(inner.inputs[0]) == boolean)
          return inner.inputs[0];
        return {};
      case Op::abs:
        if (inner.op == Op::abs) return a;
        // Not for uint8, where neg(1) is 255 and abs(255) stays 255.
        if (inner.op == Op::neg && n.type.dtype != uint8)
          return with(n, Op::abs, {inner.inputs[0]});
        return {};
      case Op::relu:
      case Op::sign:
        if (inner.op == n.op) return a;
        return {};
      case Op::floor:
      case Op::ceil:
      case Op::round:
      case Op::trunc:
        if (!is_floating_point(n.type.dtype)) return a;  // integers are already whole
        if (inner.op == n.op) return a;
        return {};
      default:
        return {};
    }
  }

  Step cast(const ir::Node& n) {
    const ValueId a = n.inputs[0];
    if (dtype(a) == n.type.dtype) return a;
    const ir::Node& inner = def(a);
    if (inner.op == Op::cast && converts_exactly(dtype(inner.inputs[0]), dtype(a)))
      return with(n, Op::cast, {inner.inputs[0]}, n.attrs);
    return {};
  }

  Step where(const ir::Node& n) {
    const ValueId c = n.inputs[0], a = n.inputs[1], b = n.inputs[2];
    if (a == b) return a;
    if (const std::optional<bool> tc = truth(c)) return *tc ? a : b;
    return {};
  }

  Step movement(const ir::Node& n) {
    const ValueId a = n.inputs[0];
    const ir::Node& inner = def(a);
    const bool same_type = inner.type == n.type;
    switch (n.op) {
      case Op::reshape:
        if (same_type) return a;
        if (inner.op == Op::reshape) return with(n, Op::reshape, {inner.inputs[0]}, n.attrs);
        return {};
      case Op::expand:
        if (same_type) return a;
        // x broadcasts to the inner shape, which broadcasts to the outer one.
        if (inner.op == Op::expand) return with(n, Op::expand, {inner.inputs[0]}, n.attrs);
        return {};
      case Op::permute: {
        const Shape& q = std::get<ir::PermuteAttrs>(n.attrs).perm;
        bool identity = true;
        for (size_t i = 0; i < q.size(); ++i) identity &= q[i] == static_cast<int64_t>(i);
        if (identity) return a;
        if (inner.op != Op::permute) return {};
        // Result dim i is inner dim q[i], which is dim p[q[i]] of the inner operand.
        const Shape& p = std::get<ir::PermuteAttrs>(inner.attrs).perm;
        Shape r(q.size());
        for (size_t i = 0; i < q.size(); ++i) r[i] = p[static_cast<size_t>(q[i])];
        return with(n, Op::permute, {inner.inputs[0]}, ir::PermuteAttrs{r});
      }
      case Op::slice:
        // Starting at 0 with an unchanged size, the slice takes every element in place.
        if (same_type && std::get<ir::SliceAttrs>(n.attrs).start == 0) return a;
        return {};
      case Op::as_strided: {
        const auto& s = std::get<ir::StridedAttrs>(n.attrs);
        if (same_type && s.offset == 0 && is_contiguous(s.sizes, s.strides)) return a;
        return {};
      }
      default:
        return {};
    }
  }

  ir::Graph& out_;
  SplatValues splats_;
  bool changed_ = false;
};

}  // namespace

bool SimplifyPass::run(ir::Graph& g) {
  const ValueId n = g.size();
  // Rebuilt in one forward walk, so each node's operands are already simplified when its
  // rules look at them (chains such as neg(neg(neg(neg(x)))) collapse in one run).
  ir::Graph out;
  Simplifier simplifier(out);
  std::vector<ValueId> new_id(static_cast<size_t>(n));
  for (ValueId id = 0; id < n; ++id) {
    ir::Node node = std::move(g.mutable_node(id));
    for (ValueId& in : node.inputs) in = new_id[static_cast<size_t>(in)];
    new_id[static_cast<size_t>(id)] = simplifier.add(std::move(node));
  }
  std::vector<ValueId> outputs = g.outputs();
  for (ValueId& o : outputs) o = new_id[static_cast<size_t>(o)];
  out.set_outputs(std::move(outputs));
  g = std::move(out);
  return simplifier.changed();
}

}  // namespace kiln::passes
