#include "kiln/frontend/checks.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::frontend {

int64_t wrap_dim(int64_t dim, int64_t rank) {
  const int64_t r = std::max<int64_t>(rank, 1);
  if (dim < -r || dim >= r)
    throw Error(absl::StrCat("Dimension out of range (expected to be in range of [", -r, ", ",
                             r - 1, "], but got ", dim, ")"));
  return dim < 0 ? dim + r : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  if (a == b) return a;
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(absl::StrCat("The size of tensor a (", da, ") must match the size of tensor b (",
                               db, ") at non-singleton dimension ", i));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::string torch_type_name(DType dtype) {
  switch (dtype.kind()) {
    case DType::Kind::kFloat32:
      return "Float";
    case DType::Kind::kFloat64:
      return "Double";
    case DType::Kind::kFloat16:
      return "Half";
    case DType::Kind::kBFloat16:
      return "BFloat16";
    case DType::Kind::kInt8:
      return "Char";
    case DType::Kind::kInt16:
      return "Short";
    case DType::Kind::kInt32:
      return "Int";
    case DType::Kind::kInt64:
      return "Long";
    case DType::Kind::kUInt8:
      return "Byte";
    case DType::Kind::kBool:
      return "Bool";
  }
  return "Unknown";
}

namespace {

// PyTorch's ResultTypeState: operands of a higher priority class (dimensioned tensors, then
// 0-d tensors, then Python scalars) decide the dtype unless a lower class has a higher category
// (bool < integral < floating).
struct ResultTypeState {
  std::optional<DType> dim_result, zero_result, wrapped_result;
};

void update(std::optional<DType>& slot, DType t) { slot = slot ? promote_types(*slot, t) : t; }

std::optional<DType> combine_categories(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return lower;
  if (!lower) return higher;
  if (is_floating_point(*higher)) return higher;
  if (*higher == boolean || is_floating_point(*lower)) return promote_types(*higher, *lower);
  return higher;
}

void add_tensor(ResultTypeState& s, const Tensor& t) {
  update(t.dim() == 0 ? s.zero_result : s.dim_result, t.dtype());
}

DType finish(const ResultTypeState& s) {
  return *combine_categories(s.dim_result, combine_categories(s.zero_result, s.wrapped_result));
}

}  // namespace

DType result_type(const Tensor& a, const Tensor& b) {
  if (a.dtype() == b.dtype()) return a.dtype();  // what every rule below gives (most ops)
  ResultTypeState s;
  add_tensor(s, a);
  add_tensor(s, b);
  return finish(s);
}

DType result_type(const Tensor& a, Scalar b) {
  ResultTypeState s;
  add_tensor(s, a);
  update(s.wrapped_result, b.default_dtype());
  return finish(s);
}

void check_inplace_cast(DType result, DType self) {
  const bool narrowing = (is_floating_point(result) && !is_floating_point(self)) ||
                         (result != boolean && self == boolean);
  if (narrowing)
    throw Error(absl::StrCat("result type ", torch_type_name(result),
                             " can't be cast to the desired output type ", torch_type_name(self)));
}

void check_same_device(const Tensor& a, const Tensor& b) {
  if (a.device() != b.device())
    throw Error(absl::StrCat(
        "Expected all tensors to be on the same device, but found at least two devices, ",
        a.device().str(), " and ", b.device().str(), "!"));
}

Tensor cpu_scalar_to(const Tensor& t, Device device) {
  if (t.device() == device || !t.device().is_cpu() || t.dim() != 0) return t;
  return t.to(device);
}

Device op_device(std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors)
    if (!(t->device().is_cpu() && t->dim() == 0)) return t->device();
  return (*tensors.begin())->device();
}

void check_no_internal_overlap(const Tensor& t) {
  const TensorImpl& ti = impl_of(t);
  for (size_t d = 0; d < ti.sizes.size(); ++d)
    if (ti.sizes[d] > 1 && ti.strides[d] == 0)
      throw Error(
          "unsupported operation: more than one element of the written-to tensor refers to a "
          "single memory location. Please clone() the tensor before performing the operation.");
}

namespace {

enum class Overlap { kNo, kFull, kPartial, kTooHard };

// c10's compute_non_overlapping_and_dense: the dims, sorted by stride, tile memory densely.
bool non_overlapping_and_dense(const TensorImpl& t) {
  const size_t rank = t.sizes.size();
  std::vector<size_t> perm(rank);
  for (size_t i = 0; i < rank; ++i) perm[i] = i;
  std::sort(perm.begin(), perm.end(), [&](size_t a, size_t b) {
    if (t.sizes[a] < 2) return false;
    if (t.sizes[b] < 2) return true;
    return t.strides[a] < t.strides[b];
  });
  int64_t required = 1;
  for (size_t d : perm) {
    if (t.sizes[d] < 2) return true;
    if (t.strides[d] != required) return false;
    required *= t.sizes[d];
  }
  return true;
}

Overlap overlap_status(const Tensor& a, const Tensor& b) {
  if (a.impl() == b.impl()) return Overlap::kFull;
  const TensorImpl& x = impl_of(a);
  const TensorImpl& y = impl_of(b);
  if (x.numel() == 0 || y.numel() == 0) return Overlap::kNo;
  if (!non_overlapping_and_dense(x) || !non_overlapping_and_dense(y)) return Overlap::kTooHard;
  if (x.storage != y.storage) return Overlap::kNo;
  const int64_t xs = x.offset * static_cast<int64_t>(itemsize(x.dtype()));
  const int64_t xe = xs + x.numel() * static_cast<int64_t>(itemsize(x.dtype()));
  const int64_t ys = y.offset * static_cast<int64_t>(itemsize(y.dtype()));
  const int64_t ye = ys + y.numel() * static_cast<int64_t>(itemsize(y.dtype()));
  if (xs == ys && xe == ye) return x.strides == y.strides ? Overlap::kFull : Overlap::kPartial;
  return xs < ye && ys < xe ? Overlap::kPartial : Overlap::kNo;
}

[[noreturn]] void throw_overlap() {
  throw Error(
      "unsupported operation: some elements of the input tensor and the written-to tensor refer "
      "to a single memory location. Please clone() the tensor before performing the operation.");
}

}  // namespace

void check_no_partial_overlap(const Tensor& out, const Tensor& in) {
  if (overlap_status(out, in) == Overlap::kPartial) throw_overlap();
}

void check_no_overlap(const Tensor& out, const Tensor& in) {
  const Overlap status = overlap_status(out, in);
  if (status == Overlap::kPartial || status == Overlap::kFull) throw_overlap();
}

}  // namespace kiln::frontend
