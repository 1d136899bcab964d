// matmul with PyTorch's shape rules (dot, mv, mm, batched with broadcast batch dims), mm, bmm.
#include "absl/strings/str_cat.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln {
namespace {

void check_matmul_operands(const Tensor& a, const Tensor& b) {
  frontend::check_same_device(a, b);
  if (a.dtype() != b.dtype())
    throw Error(absl::StrCat("expected m1 and m2 to have the same dtype, but got: ",
                             frontend::torch_type_name(a.dtype()),
                             " != ", frontend::torch_type_name(b.dtype())));
  if (a.dtype() == boolean) throw Error("matmul: not implemented for 'Bool'");
}

// a[..., m, k] @ b[..., k, n] with identical batch dims.
Tensor batched(const Tensor& a, const Tensor& b) {
  return frontend::make_tensor(
      frontend::make_node(ir::Op::matmul, {frontend::read(a), frontend::read(b)}));
}

std::string matrix_string(const Tensor& t) {
  return absl::StrCat(t.size(-2), "x", t.size(-1));
}

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2) throw Error(absl::StrCat("self must be a matrix, got ", a.dim(), "-D"));
  if (b.dim() != 2) throw Error(absl::StrCat("mat2 must be a matrix, got ", b.dim(), "-D"));
  check_matmul_operands(a, b);
  if (a.size(1) != b.size(0))
    throw Error(absl::StrCat("mat1 and mat2 shapes cannot be multiplied (", matrix_string(a),
                             " and ", matrix_string(b), ")"));
  return batched(a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  if (a.dim() != 3) throw Error(absl::StrCat("batch1 must be a 3D tensor, got ", a.dim(), "-D"));
  if (b.dim() != 3) throw Error(absl::StrCat("batch2 must be a 3D tensor, got ", b.dim(), "-D"));
  check_matmul_operands(a, b);
  if (b.size(0) != a.size(0) || b.size(1) != a.size(2))
    throw Error(absl::StrCat("Expected size for first two dimensions of batch2 tensor to be: [",
                             a.size(0), ", ", a.size(2), "] but got: [", b.size(0), ", ",
                             b.size(1), "]."));
  return batched(a, b);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (a.dim() == 0 || b.dim() == 0)
    throw Error(absl::StrCat("both arguments to matmul need to be at least 1D, but they are ",
                             a.dim(), "D and ", b.dim(), "D"));
  check_matmul_operands(a, b);
  if (a.dim() == 1 && b.dim() == 1) {
    if (a.size(0) != b.size(0))
      throw Error(absl::StrCat("inconsistent tensor size, expected tensor [", a.size(0),
                               "] and src [", b.size(0),
                               "] to have the same number of elements, but got ", a.size(0),
                               " and ", b.size(0), " elements respectively"));
    return batched(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  if (a.dim() <= 2 && b.dim() <= 2) {
    const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
    const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
    if (a2.size(1) != b2.size(0))
      throw Error(absl::StrCat("mat1 and mat2 shapes cannot be multiplied (", matrix_string(a2),
                               " and ", matrix_string(b2), ")"));
    Tensor out = batched(a2, b2);
    if (a.dim() == 1) return out.squeeze(0);
    if (b.dim() == 1) return out.squeeze(1);
    return out;
  }
  // Batched: 1-D operands become matrices, batch dims broadcast, then the added dims go.
  const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  if (a2.size(-1) != b2.size(-2))
    throw Error(absl::StrCat("mat1 and mat2 shapes cannot be multiplied (", matrix_string(a2),
                             " and ", matrix_string(b2), ")"));
  const Shape a_batch(a2.sizes().begin(), a2.sizes().end() - 2);
  const Shape b_batch(b2.sizes().begin(), b2.sizes().end() - 2);
  Shape batch = frontend::broadcast_shapes(a_batch, b_batch);
  Shape a_shape = batch, b_shape = batch;
  a_shape.insert(a_shape.end(), {a2.size(-2), a2.size(-1)});
  b_shape.insert(b_shape.end(), {b2.size(-2), b2.size(-1)});
  Tensor out = batched(a2.expand(a_shape), b2.expand(b_shape));
  if (a.dim() == 1) out = out.squeeze(-2);
  if (b.dim() == 1) out = out.squeeze(-1);
  return out;
}

Tensor Tensor::matmul(const Tensor& other) const { return kiln::matmul(*this, other); }
Tensor Tensor::mm(const Tensor& other) const { return kiln::mm(*this, other); }

}  // namespace kiln
