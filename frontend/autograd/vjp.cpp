// The dispatch of the gradient table: which family file holds each op's rule, and the checks
// every rule shares (wanted and floating inputs only, results of the inputs' types).
#include "kiln/frontend/autograd/vjp.h"

#include "absl/strings/str_cat.h"
#include "kiln/frontend/autograd/vjp_rules.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::frontend::autograd {

// The family rules (vjp_elementwise.cpp, vjp_reduce.cpp, vjp_movement.cpp). They see a context
// whose `needs` is already false for every input that gets no gradient (not wanted, or not
// floating), and return one entry per input, undefined where `needs` is false.
namespace {

using ir::Op;

enum class Family : uint8_t { kNone, kElementwise, kReduction, kMovement };

// The table: one line per op of KILN_IR_OPS. There is no default, so a new op is a -Wswitch
// error here until it is given a rule (or declared non-differentiable).
Family family_of(Op op) {
  switch (op) {
    // Leaves have no inputs to send gradients to.
    case Op::input:
    case Op::constant:
      return Family::kNone;
    case Op::neg:
    case Op::abs:
    case Op::relu:
    case Op::sqrt:
    case Op::rsqrt:
    case Op::reciprocal:
    case Op::exp:
    case Op::expm1:
    case Op::log:
    case Op::log2:
    case Op::log10:
    case Op::log1p:
    case Op::sin:
    case Op::cos:
    case Op::tan:
    case Op::tanh:
    case Op::sigmoid:
    case Op::erf:
    case Op::cast:
    case Op::add:
    case Op::sub:
    case Op::mul:
    case Op::div:
    case Op::pow:
    case Op::maximum:
    case Op::minimum:
    case Op::where:
      return Family::kElementwise;
    // Piecewise constant: the derivative is zero almost everywhere, and PyTorch's results of
    // these never require grad either (sign/rounding would give zeros; we give nothing).
    case Op::sign:
    case Op::floor:
    case Op::ceil:
    case Op::round:
    case Op::trunc:
    case Op::logical_not:
    case Op::eq:
    case Op::ne:
    case Op::lt:
    case Op::le:
    case Op::gt:
    case Op::ge:
    case Op::logical_and:
    case Op::logical_or:
    case Op::argmax:
    case Op::argmin:
      return Family::kNone;
    case Op::sum:
    case Op::prod:
    case Op::amax:
    case Op::amin:
      return Family::kReduction;
    case Op::reshape:
    case Op::permute:
    case Op::expand:
    case Op::slice:
    case Op::as_strided:
    case Op::cat:
    case Op::as_strided_scatter:
    case Op::index:
    case Op::index_put:
    case Op::matmul:
      return Family::kMovement;
  }
  return Family::kNone;
}
static_assert(ir::kNumOps == 59, "the op table changed: give the new op a family above");

[[noreturn]] void internal(Op op, std::string_view what) {
  throw Error(absl::StrCat("internal error: vjp of ", sv(ir::op_name(op)), ": ", sv(what)));
}

}  // namespace

bool is_differentiable(ir::Op op) { return family_of(op) != Family::kNone; }

bool vjp_reads_value(ir::Op op, int which, const std::vector<bool>& needs) {
  switch (op) {
    case ir::Op::add:
    case ir::Op::sub:
    case ir::Op::neg:
    case ir::Op::cast:
    case ir::Op::reshape:
    case ir::Op::expand:
    case ir::Op::permute:
    case ir::Op::sum:
      return false;  // the gradient, moved, summed or negated: shapes and dtypes only
    case ir::Op::mul:
      // g * b for a, g * a for b.
      return which >= 0 && which < 2 && static_cast<size_t>(1 - which) < needs.size() &&
             needs[static_cast<size_t>(1 - which)];
    default:
      return true;
  }
}

const Shape& input_shape(const VjpContext& ctx, size_t i) {
  return ctx.inputs[i].defined() ? ctx.inputs[i].sizes() : ctx.input_types[i]->shape;
}

DType input_dtype(const VjpContext& ctx, size_t i) {
  return ctx.inputs[i].defined() ? ctx.inputs[i].dtype() : ctx.input_types[i]->dtype;
}

std::vector<Tensor> vjp(const VjpContext& ctx) {
  const size_t n = ctx.inputs.size();
  if (!ctx.needs.empty() && ctx.needs.size() != n) internal(ctx.op, "needs has the wrong size");
  std::vector<Tensor> none(n);
  const Family family = family_of(ctx.op);
  // An undefined grad is a zero gradient; an integer or bool result has no gradient at all.
  if (family == Family::kNone || !ctx.grad.defined() || !ctx.grad.is_floating_point()) return none;
  if (ctx.output.defined() && ctx.grad.sizes() != ctx.output.sizes())
    internal(ctx.op, "grad and output shapes differ");

  VjpContext wanted = ctx;
  wanted.needs.assign(n, false);
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    // An empty `needs` asks for every input. Integer and bool inputs (index tensors, where's
    // condition, the source of a cast to float) never get a gradient.
    const bool want = ctx.needs.empty() || ctx.needs[i];
    const bool known = ctx.inputs[i].defined() || i < ctx.input_types.size();
    wanted.needs[i] = want && known && is_floating_point(input_dtype(ctx, i));
    any = any || wanted.needs[i];
  }
  if (!any) return none;

  std::vector<Tensor> grads;
  switch (family) {
    case Family::kElementwise:
      grads = rules::elementwise(wanted);
      break;
    case Family::kReduction:
      grads = rules::reduction(wanted);
      break;
    case Family::kMovement:
      grads = rules::movement(wanted);
      break;
    case Family::kNone:
      return none;
  }
  if (grads.size() != n) internal(ctx.op, "the rule returned the wrong number of gradients");
  for (size_t i = 0; i < n; ++i) {
    if (!wanted.needs[i]) {
      grads[i] = Tensor();
      continue;
    }
    if (!grads[i].defined()) continue;
    // The engine accumulates these into the inputs' gradients: a rule that got the type wrong
    // would surface far from here.
    if (grads[i].sizes() != input_shape(ctx, i) || grads[i].dtype() != input_dtype(ctx, i))
      internal(ctx.op,
               absl::StrCat("gradient ", i, " is ", sv(name(grads[i].dtype())),
                            shape_to_string(grads[i].sizes()), ", input is ",
                            sv(name(input_dtype(ctx, i))), shape_to_string(input_shape(ctx, i))));
  }
  return grads;
}

}  // namespace kiln::frontend::autograd
