// Movement ops: permute, expand, slice, as_strided and cat, plus as_strided_scatter (the write
// through an as_strided window). These only move elements, so they copy bytes of the dtype's
// size and never look at values. Every read is a strided window over the dense row-major input:
// output element i (row-major) reads input element offset + sum(index_d * stride_d).
#include <vector>

#include "kiln/backends/interp/element.h"
#include "kiln/backends/interp/kernels.h"

namespace kiln::backends::interp {
namespace {

// out[i] = in[offset + sum(index_d * strides[d])] over the output shape `sizes`.
void gather_window(const Operand& in, const Shape& sizes, const Shape& strides, int64_t offset,
                   std::byte* out) {
  const size_t size = itemsize(in.type->dtype);
  for_each_strided(sizes, strides, offset, [&](int64_t i, int64_t at) {
    copy_bytes(out + static_cast<size_t>(i) * size, in.data + static_cast<size_t>(at) * size, size);
  });
}

}  // namespace

void eval_permute(const ir::Node& node, Operands in, std::byte* out) {
  const Shape& perm = std::get<ir::PermuteAttrs>(node.attrs).perm;
  const Shape in_strides = contiguous_strides(in[0].type->shape);
  Shape strides(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) strides[d] = in_strides[static_cast<size_t>(perm[d])];
  gather_window(in[0], node.type.shape, strides, 0, out);
}

void eval_expand(const ir::Node& node, Operands in, std::byte* out) {
  const Shape& in_shape = in[0].type->shape;
  Shape strides = contiguous_strides(in_shape);
  // A broadcast dim reads its single element again and again.
  for (size_t d = 0; d < strides.size(); ++d)
    if (in_shape[d] == 1) strides[d] = 0;
  gather_window(in[0], node.type.shape, strides, 0, out);
}

void eval_slice(const ir::Node& node, Operands in, std::byte* out) {
  const auto& attrs = std::get<ir::SliceAttrs>(node.attrs);
  const size_t dim = static_cast<size_t>(attrs.dim);
  Shape strides = contiguous_strides(in[0].type->shape);
  const int64_t offset = attrs.start * strides[dim];
  strides[dim] *= attrs.step;
  gather_window(in[0], node.type.shape, strides, offset, out);
}

void eval_as_strided(const ir::Node& node, Operands in, std::byte* out) {
  const auto& attrs = std::get<ir::StridedAttrs>(node.attrs);
  gather_window(in[0], attrs.sizes, attrs.strides, attrs.offset, out);
}

void eval_as_strided_scatter(const ir::Node& node, Operands in, std::byte* out) {
  const auto& attrs = std::get<ir::StridedAttrs>(node.attrs);
  const Operand &base = in[0], &src = in[1];
  const size_t size = itemsize(node.type.dtype);
  copy_bytes(out, base.data, static_cast<size_t>(base.numel()) * size);
  // Row-major order, so where window positions overlap the last source element wins.
  for_each_strided(attrs.sizes, attrs.strides, attrs.offset, [&](int64_t i, int64_t at) {
    copy_bytes(out + static_cast<size_t>(at) * size, src.data + static_cast<size_t>(i) * size,
               size);
  });
}

void eval_cat(const ir::Node& node, Operands in, std::byte* out) {
  const size_t dim = static_cast<size_t>(std::get<ir::AxisAttrs>(node.attrs).dim);
  const Shape& out_shape = node.type.shape;
  const size_t size = itemsize(node.type.dtype);
  // Viewed as [outer, dim, inner], each operand contributes one contiguous run of
  // shape[dim] * inner elements to every outer row of the result.
  int64_t outer = 1;
  for (size_t d = 0; d < dim; ++d) outer *= out_shape[d];
  int64_t inner = 1;
  for (size_t d = dim + 1; d < out_shape.size(); ++d) inner *= out_shape[d];
  const size_t out_row = static_cast<size_t>(out_shape[dim] * inner) * size;
  size_t column = 0;  // bytes into each output row where the current operand starts
  for (const Operand& operand : in) {
    const size_t run = static_cast<size_t>(operand.type->shape[dim] * inner) * size;
    for (int64_t o = 0; o < outer; ++o) {
      const size_t row = static_cast<size_t>(o);
      copy_bytes(out + row * out_row + column, operand.data + row * run, run);
    }
    column += run;
  }
}

}  // namespace kiln::backends::interp
