#include "kiln/frontend/nn/activation.h"

#include "absl/strings/str_cat.h"
#include "kiln/frontend/checks.h"
#include "kiln/runtime/error.h"

namespace kiln::nn {

namespace functional {

namespace {
// The input shifted by its (detached) maximum along dim: every exp() is then at most 1.
Tensor shifted_by_max(const Tensor& input, int64_t dim, const char* op) {
  if (!input.is_floating_point())
    throw Error(absl::StrCat("\"", op, "\" not implemented for '",
                             frontend::torch_type_name(input.dtype()), "'"));
  // A 0-d input is its own single-element dimension (PyTorch accepts dim 0 or -1).
  return input - input.amax({dim}, /*keepdim=*/true).detach();
}
}  // namespace

Tensor softmax(const Tensor& input, int64_t dim) {
  const Tensor e = shifted_by_max(input, dim, "softmax").exp();
  return e / e.sum(dim, /*keepdim=*/true);
}

Tensor log_softmax(const Tensor& input, int64_t dim) {
  const Tensor shifted = shifted_by_max(input, dim, "log_softmax");
  return shifted - shifted.exp().sum(dim, /*keepdim=*/true).log();
}

}  // namespace functional

std::string SoftmaxImpl::extra_repr() const { return absl::StrCat("dim=", dim_); }
std::string LogSoftmaxImpl::extra_repr() const { return absl::StrCat("dim=", dim_); }

}  // namespace kiln::nn
