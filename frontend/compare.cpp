// Whole-tensor comparisons that return host booleans: equal, allclose (and isclose).
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
  if (!a.is_floating_point()) return a.eq(b);
  // |a - b| <= atol + rtol * |b|, with equal infinities close and NaN never close.
  Tensor close = a.sub(b).abs().le(b.abs().mul(rtol).add(atol));
  return close.logical_or(a.eq(b));
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  return isclose(a, b, rtol, atol).all().item<bool>();
}

}  // namespace kiln
