// matmul with PyTorch's shape rules (dot, mv, mm, batched with broadcast batch dims), mm, bmm.
// Validation follows torch 1.13's dispatch (at::native::_matmul_impl), so that errors name the
// shapes PyTorch names: a batched operand facing a vector or matrix is folded into rows first.
#include "absl/strings/str_cat.h"
#include "kiln/frontend/checks.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln {
namespace {

using frontend::torch_type_name;

// The dtype and kernel checks of mm, mv and bmm (after their shape checks, as in PyTorch).
// PyTorch's CUDA kernels of matrix products are for floating types only.
void check_device_dtype(const Tensor& a, const char* cuda_kernel) {
  if (a.device().is_cuda() && !is_floating_point(a.dtype()))
    throw Error(absl::StrCat("\"", cuda_kernel, "\" not implemented for '",
                             torch_type_name(a.dtype()), "'"));
}

void check_gemm_dtypes(const Tensor& a, const Tensor& b, const char* kernel,
                       const char* cuda_kernel) {
  if (a.dtype() != b.dtype())
    throw Error(absl::StrCat("expected scalar type ", torch_type_name(a.dtype()), " but found ",
                             torch_type_name(b.dtype())));
  if (a.dtype() == boolean)
    throw Error(absl::StrCat("\"", kernel, "\" not implemented for 'Bool'"));
  check_device_dtype(a, cuda_kernel);
}

void check_mm(int64_t rows_a, int64_t cols_a, int64_t rows_b, int64_t cols_b) {
  if (cols_a != rows_b)
    throw Error(absl::StrCat("mat1 and mat2 shapes cannot be multiplied (", rows_a, "x", cols_a,
                             " and ", rows_b, "x", cols_b, ")"));
}

void check_mv(int64_t rows, int64_t cols, int64_t vec) {
  if (cols != vec)
    throw Error(absl::StrCat("size mismatch, got ", rows, ", ", rows, "x", cols, ",", vec));
}

// The checks torch makes of a folded product: `lhs` seen as [rows, k] times `other`, a vector
// or a matrix (`transposed`: other^T, when torch folds the right operand and swaps them).
void check_folded(const Tensor& lhs, int64_t rows, int64_t k, const Tensor& other,
                  bool transposed) {
  const bool vector = other.dim() == 1;
  if (vector)
    check_mv(rows, k, other.size(0));
  else
    check_mm(rows, k, other.size(transposed ? 1 : 0), other.size(transposed ? 0 : 1));
  check_gemm_dtypes(lhs, other, vector ? "addmv_impl_cpu" : "addmm_impl_cpu_",
                    vector ? "addmv_impl_cuda" : "addmm_cuda");
}

// a[..., m, k] @ b[..., k, n] with identical batch dims.
Tensor batched(const Tensor& a, const Tensor& b) {
  return frontend::make_tensor(
      frontend::make_node(ir::Op::matmul, {frontend::read(a), frontend::read(b)}));
}

int64_t leading_rows(const Tensor& t) {  // the product of all sizes but the last
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < t.dim(); ++d) rows *= t.size(d);
  return rows;
}

// torch's should_fold: a >= 3-D operand facing a 1-D/2-D one is folded into rows, except a 3-D
// one whose last two dims are transposed (bmm handles those without a copy).
bool should_fold(const Tensor& t, int64_t other_dim) {
  if (t.dim() < 3 || other_dim > 2) return false;
  return !(t.dim() == 3 && other_dim == 2 && t.stride(2) != 1 &&
           t.stride(0) == t.size(1) * t.size(2));
}

Tensor dot(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw Error(absl::StrCat("dot : expected both vectors to have same dtype, but found ",
                             torch_type_name(a.dtype()), " and ", torch_type_name(b.dtype())));
  if (a.size(0) != b.size(0))
    throw Error(absl::StrCat("inconsistent tensor size, expected tensor [", a.size(0),
                             "] and src [", b.size(0),
                             "] to have the same number of elements, but got ", a.size(0), " and ",
                             b.size(0), " elements respectively"));
  if (a.dtype() == boolean) throw Error("\"dot\" not implemented for 'Bool'");
  check_device_dtype(a, "dot");
  return batched(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
}

Tensor mv(const Tensor& a, const Tensor& v) {
  check_mv(a.size(0), a.size(1), v.size(0));
  check_gemm_dtypes(a, v, "addmv_impl_cpu", "addmv_impl_cuda");
  return batched(a, v.unsqueeze(1)).squeeze(1);
}

// Both operands batched (or not foldable): batch dims broadcast, then bmm over them.
Tensor broadcast_batched(const Tensor& a, const Tensor& b) {
  const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  const Shape a_batch(a2.sizes().begin(), a2.sizes().end() - 2);
  const Shape b_batch(b2.sizes().begin(), b2.sizes().end() - 2);
  const Shape batch = frontend::broadcast_shapes(a_batch, b_batch);
  const int64_t count = numel(batch);
  if (a2.size(-1) != b2.size(-2))
    throw Error(absl::StrCat("Expected size for first two dimensions of batch2 tensor to be: [",
                             count, ", ", a2.size(-1), "] but got: [", count, ", ", b2.size(-2),
                             "]."));
  check_gemm_dtypes(a, b, "bmm", "bmm_cuda");
  Shape a_shape = batch, b_shape = batch;
  a_shape.insert(a_shape.end(), {a2.size(-2), a2.size(-1)});
  b_shape.insert(b_shape.end(), {b2.size(-2), b2.size(-1)});
  Tensor out = batched(a2.expand(a_shape), b2.expand(b_shape));
  if (a.dim() == 1) out = out.squeeze(-2);
  if (b.dim() == 1) out = out.squeeze(-1);
  return out;
}

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2) throw Error(absl::StrCat("self must be a matrix, got ", a.dim(), "-D"));
  if (b.dim() != 2) throw Error(absl::StrCat("mat2 must be a matrix, got ", b.dim(), "-D"));
  frontend::check_same_device(a, b);
  check_mm(a.size(0), a.size(1), b.size(0), b.size(1));
  check_gemm_dtypes(a, b, "addmm_impl_cpu_", "addmm_cuda");
  return batched(a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  if (a.dim() != 3) throw Error(absl::StrCat("batch1 must be a 3D tensor, got ", a.dim(), "-D"));
  if (b.dim() != 3) throw Error(absl::StrCat("batch2 must be a 3D tensor, got ", b.dim(), "-D"));
  frontend::check_same_device(a, b);
  if (b.size(0) != a.size(0) || b.size(1) != a.size(2))
    throw Error(absl::StrCat("Expected size for first two dimensions of batch2 tensor to be: [",
                             a.size(0), ", ", a.size(2), "] but got: [", b.size(0), ", ", b.size(1),
                             "]."));
  check_gemm_dtypes(a, b, "bmm", "bmm_cuda");
  return batched(a, b);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  const int64_t da = a.dim(), db = b.dim();
  if (da == 0 || db == 0)
    throw Error(absl::StrCat("both arguments to matmul need to be at least 1D, but they are ", da,
                             "D and ", db, "D"));
  frontend::check_same_device(a, b);
  if (da == 1 && db == 1) return dot(a, b);
  if (da == 2 && db == 1) return mv(a, b);
  if (da == 1 && db == 2) return mm(a.unsqueeze(0), b).squeeze(0);
  if (da == 2 && db == 2) return mm(a, b);
  if (should_fold(a, db)) {
    // [..., m, k] @ [k(, n)]: the batch folds into the rows of one mm or mv.
    const int64_t rows = leading_rows(a), k = a.size(-1);
    check_folded(a, rows, k, b, /*transposed=*/false);
    Shape out_shape(a.sizes().begin(), a.sizes().end() - 1);
    if (db == 2) out_shape.push_back(b.size(1));
    const Tensor rhs = db == 1 ? b.unsqueeze(1) : b;
    return batched(a.reshape({rows, k}), rhs).reshape(out_shape);
  }
  if (should_fold(b, da)) {
    // torch folds b^T [..., n, k] and multiplies by a^T: check with those shapes.
    const int64_t k = b.size(-2);
    int64_t folded = b.size(-1);
    for (int64_t d = 0; d + 2 < db; ++d) folded *= b.size(d);
    check_folded(b, folded, k, a, /*transposed=*/true);
  }
  return broadcast_batched(a, b);
}

Tensor Tensor::matmul(const Tensor& other) const { return kiln::matmul(*this, other); }
Tensor Tensor::mm(const Tensor& other) const { return kiln::mm(*this, other); }

}  // namespace kiln
