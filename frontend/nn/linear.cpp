#include "kiln/frontend/nn/linear.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/nn/init.h"
#include "kiln/runtime/error.h"

namespace kiln::nn {

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool bias)
    : in_features_(in_features), out_features_(out_features) {
  if (in_features < 0 || out_features < 0)
    throw Error(absl::StrCat("Linear: in_features and out_features must be non-negative, got ",
                             in_features, " and ", out_features));
  // The same creation order as torch.nn.Linear: weight, bias, then reset_parameters().
  weight_ = register_parameter("weight", empty({out_features, in_features}));
  bias_ = register_parameter("bias", bias ? empty({out_features}) : Tensor());
  reset_parameters();
}

void LinearImpl::reset_parameters() {
  init::kaiming_uniform_(weight_, std::sqrt(5.0));
  if (bias_.defined()) {
    const int64_t fan_in = in_features_;
    const double bound = fan_in > 0 ? 1 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias_, -bound, bound);
  }
}

Tensor LinearImpl::forward(const Tensor& input) {
  return functional::linear(input, weight_, bias_);
}

std::string LinearImpl::extra_repr() const {
  return absl::StrCat("in_features=", in_features_, ", out_features=", out_features_,
                      ", bias=", bias_.defined() ? "True" : "False");
}

namespace functional {
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  // matmul with the transposed view: the CPU backend packs W straight from its buffer and
  // fuses the bias add into the matmul's epilogue.
  Tensor out = input.matmul(weight.t());
  return bias.defined() ? out + bias : out;
}
}  // namespace functional

}  // namespace kiln::nn
