#include "kiln/frontend/nn/loss.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/compile/trace_state.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/indexing.h"
#include "kiln/frontend/nn/activation.h"
#include "kiln/frontend/nn/python_repr.h"
#include "kiln/runtime/error.h"

namespace kiln::nn {

namespace {

void check_reduction(const std::string& reduction) {
  if (reduction != "mean" && reduction != "sum" && reduction != "none")
    throw Error(reduction + " is not a valid value for reduction");
}

Tensor reduce(const Tensor& loss, const std::string& reduction) {
  if (reduction == "mean") return loss.mean();
  if (reduction == "sum") return loss.sum();
  return loss;
}

// Moves dim 1 (the classes) last and flattens the rest: [N, C, d1, ...] -> [N * d1 * ..., C].
Tensor classes_last(const Tensor& input) {
  Shape order{0};
  for (int64_t d = 2; d < input.dim(); ++d) order.push_back(d);
  order.push_back(1);
  return input.permute(order).reshape({-1, input.size(1)});
}

// A [1, C, 1, ...] view of per-class weights, broadcasting against [N, C, d1, ...].
Tensor class_weights_view(const Tensor& weight, const Tensor& input, int64_t class_dim) {
  Shape shape(static_cast<size_t>(input.dim()), 1);
  shape[static_cast<size_t>(class_dim)] = weight.numel();
  return weight.reshape(shape);
}

// nll_loss over [M, C] log-probabilities without reading the targets on the host, for
// compile()'s traces (a host read would freeze the first call's targets into the program).
// The values equal the host path's; an out-of-range target fails when the program runs, in
// the index op, instead of at the call.
Tensor nll_loss_in_graph(const Tensor& logp, const Tensor& target, const Shape& out_shape,
                         const Tensor& weight, const NLLLossOptions& options) {
  const int64_t m = target.numel();
  const Tensor valid = target.ne(options.ignore_index);
  const Tensor safe = where(valid, target, Scalar(int64_t{0}));
  const Tensor picked = logp.index({arange(m, {.device = logp.device()}), safe});
  Tensor per_weight;
  Tensor losses = -picked;
  if (weight.defined()) {
    per_weight = where(valid, weight.index({safe}), 0.0);
    losses = -(picked * weight.index({safe}));
  }
  losses = where(valid, losses, 0.0);
  if (options.reduction == "none") return losses.reshape(out_shape);
  if (options.reduction == "sum") return losses.sum();
  if (per_weight.defined()) return losses.sum() / per_weight.sum();
  return losses.sum() / valid.sum().to(logp.dtype());
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_reduction(reduction);
  return reduce((input - target).square(), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_reduction(reduction);
  return reduce((input - target).abs(), reduction);
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options) {
  check_reduction(options.reduction);
  if (input.dim() < 1)
    throw Error(absl::StrCat("Expected 1 or more dimensions (got ", input.dim(), ")"));
  if (target.dtype() != int64)
    throw Error("expected scalar type Long but found " + frontend::torch_type_name(target.dtype()));
  if (input.dim() != 1 && (target.dim() == 0 || input.size(0) != target.size(0)))
    throw Error(absl::StrCat("Expected input batch_size (", input.size(0),
                             ") to match target batch_size (",
                             target.dim() == 0 ? 0 : target.size(0), ")."));
  const int64_t classes = input.dim() == 1 ? input.size(0) : input.size(1);
  const Tensor& weight = options.weight;
  if (weight.defined() && (weight.dim() != 1 || weight.numel() != classes))
    throw Error(absl::StrCat("weight tensor should be defined either for all ", classes,
                             " classes or no classes but got weight tensor of shape: ",
                             shape_to_string(weight.sizes())));

  // Everything becomes [M, C] log-probabilities and [M] targets; `out_shape` is the shape of
  // the unreduced loss (the target's).
  Tensor logp;
  Tensor flat_target;
  Shape out_shape = target.sizes();
  if (input.dim() == 1) {
    if (target.dim() != 0)
      throw Error(absl::StrCat("size mismatch (got input: ", shape_to_string(input.sizes()),
                               ", target: ", shape_to_string(target.sizes()), ")"));
    logp = input.unsqueeze(0);
    flat_target = target.reshape({1});
  } else if (input.dim() == 2) {
    if (target.dim() != 1)
      throw Error("0D or 1D target tensor expected, multi-target not supported");
    logp = input;
    flat_target = target;
  } else {
    Shape expected{input.size(0)};
    for (int64_t d = 2; d < input.dim(); ++d) expected.push_back(input.size(d));
    if (target.sizes() != expected)
      throw Error(absl::StrCat("Expected target size ", shape_to_string(expected), ", got ",
                               shape_to_string(target.sizes())));
    logp = classes_last(input);
    flat_target = target.reshape({-1});
  }

  if (frontend::tracing_active())
    return nll_loss_in_graph(logp, flat_target, out_shape, weight, options);
  // The targets are read on the host (they are realized data in any training loop): PyTorch's
  // bounds check happens at the call, and ignored targets get a safe index (0) and a zero
  // weight without extra nodes in the common case where nothing is ignored.
  const std::vector<int64_t> targets = flat_target.tolist<int64_t>();
  std::vector<int64_t> safe(targets.size());
  std::vector<uint8_t> valid(targets.size());
  int64_t valid_count = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const int64_t t = targets[i];
    if (t == options.ignore_index) {
      safe[i] = 0;
      valid[i] = 0;
      continue;
    }
    if (t < 0 || t >= classes) throw Error(absl::StrCat("Target ", t, " is out of bounds."));
    safe[i] = t;
    valid[i] = 1;
    ++valid_count;
  }
  const bool any_ignored = valid_count != static_cast<int64_t>(targets.size());
  const int64_t m = static_cast<int64_t>(targets.size());
  const Tensor safe_t = tensor(safe, {.device = logp.device()});
  const Tensor picked = logp.index({arange(m, {.device = logp.device()}), safe_t});  // [M]
  Tensor losses;
  Tensor per_weight;  // the weight of each target; undefined: all 1
  if (weight.defined()) {
    per_weight = weight.index({safe_t});
    losses = -(picked * per_weight);
  } else {
    losses = -picked;
  }
  Tensor valid_mask;
  if (any_ignored) {
    valid_mask = frontend::tensor_from_host(valid.data(), boolean, {m}, {.device = input.device()});
    // where, not a multiplication by 0: an ignored target's loss is +0.0 as in PyTorch.
    losses = where(valid_mask, losses, 0.0);
    if (per_weight.defined()) per_weight = where(valid_mask, per_weight, 0.0);
  }
  if (options.reduction == "none") return losses.reshape(out_shape);
  if (options.reduction == "sum") return losses.sum();
  // mean: divided by the total weight of the targets not ignored (NaN when there is none).
  if (per_weight.defined()) return losses.sum() / per_weight.sum();
  return losses.sum() / static_cast<double>(valid_count);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target,
                     const CrossEntropyOptions& options) {
  check_reduction(options.reduction);
  const double smoothing = options.label_smoothing;
  if (!(smoothing >= 0.0 && smoothing <= 1.0))
    throw Error("label_smoothing must be between 0.0 and 1.0. Got: " +
                detail::python_float_repr(smoothing));
  if (input.dim() < 1)
    throw Error(absl::StrCat("Expected 1 or more dimensions (got ", input.dim(), ")"));
  const int64_t class_dim = input.dim() == 1 ? 0 : 1;
  const int64_t classes = input.size(class_dim);
  const Tensor logp = functional::log_softmax(input, class_dim);
  const Tensor& weight = options.weight;

  if (target.is_floating_point() && target.sizes() == input.sizes()) {
    // Class probabilities: -sum_c w_c * p_c * log q_c, smoothed towards the uniform
    // distribution, averaged over the batch elements (not over the weights).
    Tensor p = target;
    if (smoothing > 0) p = p * (1 - smoothing) + smoothing / static_cast<double>(classes);
    Tensor terms = logp * p;
    if (weight.defined()) terms = terms * class_weights_view(weight, input, class_dim);
    const Tensor losses = -terms.sum(class_dim);
    if (options.reduction == "none") return losses;
    if (options.reduction == "sum") return losses.sum();
    return losses.sum() / static_cast<double>(input.numel() / (classes > 0 ? classes : 1));
  }

  const Tensor nll = nll_loss(logp, target, {weight, options.ignore_index, options.reduction});
  if (smoothing <= 0) return nll;
  // Label smoothing (PyTorch's cross_entropy_loss_label_smoothing): the nll term mixed with the
  // loss against the uniform distribution, which ignores the same targets.
  Tensor smooth = weight.defined()
                      ? -(logp * class_weights_view(weight, input, class_dim)).sum(class_dim)
                      : -logp.sum(class_dim);
  const Tensor valid = target.ne(options.ignore_index);
  smooth = where(valid, smooth, 0.0);
  Tensor smooth_reduced;
  if (options.reduction == "none") {
    smooth_reduced = smooth;
  } else if (options.reduction == "sum") {
    smooth_reduced = smooth.sum();
  } else if (weight.defined()) {
    const Tensor safe_target = where(valid, target, 0);
    smooth_reduced = smooth.sum() / where(valid, weight.index({safe_target}), 0.0).sum();
  } else {
    smooth_reduced = smooth.sum() / valid.sum();
  }
  return nll * (1 - smoothing) + smooth_reduced * (smoothing / static_cast<double>(classes));
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsOptions& options) {
  check_reduction(options.reduction);
  if (target.sizes() != input.sizes())
    throw Error(absl::StrCat("Target size (", shape_to_string(target.sizes()),
                             ") must be the same as input size (", shape_to_string(input.sizes()),
                             ")"));
  // PyTorch's form: with m = max(-x, 0), log(1 + exp(-x)) = m + log(exp(-m) + exp(-x - m)),
  // where neither exponent is positive.
  const Tensor max_val = (-input).clamp(0.0);
  const Tensor log_term = ((-max_val).exp() + (-input - max_val).exp()).log();
  Tensor loss;
  if (options.pos_weight.defined()) {
    const Tensor log_weight = (options.pos_weight - 1) * target + 1;
    loss = (1 - target) * input + log_weight * (log_term + max_val);
  } else {
    loss = (1 - target) * input + max_val + log_term;
  }
  if (options.weight.defined()) loss = loss * options.weight;
  return reduce(loss, options.reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            const std::string& reduction) {
  check_reduction(reduction);
  if (target.sizes() != input.sizes())
    throw Error(absl::StrCat("Using a target size (", shape_to_string(target.sizes()),
                             ") that is different to the input size (",
                             shape_to_string(input.sizes()),
                             ") is deprecated. Please ensure they have the same size."));
  // Each log is clamped at -100, so a probability of exactly 0 or 1 gives a finite loss.
  Tensor loss =
      -(target * input.log().clamp(-100.0) + (1 - target) * (1 - input).log().clamp(-100.0));
  if (weight.defined()) loss = loss * weight;
  return reduce(loss, reduction);
}

}  // namespace kiln::nn
