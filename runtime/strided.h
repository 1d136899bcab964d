// Walking strided element layouts on the host (views over buffers).
#pragma once

#include <cstdint>
#include <memory>

#include "absl/types/span.h"

namespace kiln::runtime {

// Calls fn(element_offset) for every element of a (sizes, strides) layout in row-major order;
// offsets are in elements, starting from `offset`. Iterative, any rank.
template <class Fn>
void for_each_strided(absl::Span<const int64_t> sizes, absl::Span<const int64_t> strides,
                      int64_t offset, Fn&& fn) {
  const size_t rank = sizes.size();
  for (int64_t s : sizes)
    if (s == 0) return;
  int64_t index[16] = {0};
  int64_t* counter = index;
  std::unique_ptr<int64_t[]> heap;
  if (rank > 16) {
    heap.reset(new int64_t[rank]());
    counter = heap.get();
  }
  int64_t pos = offset;
  while (true) {
    fn(pos);
    size_t d = rank;
    while (true) {
      if (d == 0) return;
      --d;
      if (++counter[d] < sizes[d]) {
        pos += strides[d];
        break;
      }
      pos -= (sizes[d] - 1) * strides[d];
      counter[d] = 0;
    }
  }
}

// Copies a dense row-major source of `sizes` into a strided destination.
void copy_into_strided(void* dst, absl::Span<const int64_t> sizes,
                       absl::Span<const int64_t> strides, int64_t offset, const void* src,
                       size_t itemsize);

}  // namespace kiln::runtime
