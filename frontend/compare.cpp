// Whole-tensor comparisons that return host booleans: equal, allclose (and isclose).
#include <limits>

#include "kiln/frontend/checks.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln {

bool equal(const Tensor& a, const Tensor& b) {
  frontend::check_same_device(a, b);
  if (a.sizes() != b.sizes()) return false;
  if (a.numel() == 0) return true;
  return a.eq(b).all().item<bool>();
}

Tensor isclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  frontend::check_same_device(a, b);
  if (a.dtype() != b.dtype())
    throw Error("isclose: " + frontend::torch_type_name(a.dtype()) + " did not match " +
                frontend::torch_type_name(b.dtype()));
  // torch.isclose: equal, or |a - b| finite and <= atol + |rtol * b| (bools compare as floats).
  const Tensor x = a.dtype() == boolean ? a.to(float32) : a;
  const Tensor y = b.dtype() == boolean ? b.to(float32) : b;
  const Tensor actual = x.sub(y).abs();
  const Tensor allowed = y.mul(rtol).abs().add(atol);
  const Tensor finite = actual.lt(std::numeric_limits<double>::infinity());
  return a.eq(b).logical_or(finite.logical_and(actual.le(allowed)));
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  return isclose(a, b, rtol, atol).all().item<bool>();
}

}  // namespace kiln
