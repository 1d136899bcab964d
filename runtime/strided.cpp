#include "kiln/runtime/strided.h"

#include <cstring>

namespace kiln::runtime {

void copy_into_strided(void* dst, absl::Span<const int64_t> sizes,
                       absl::Span<const int64_t> strides, int64_t offset, const void* src,
                       size_t itemsize) {
  auto* out = static_cast<char*>(dst);
  const auto* in = static_cast<const char*>(src);
  for_each_strided(sizes, strides, offset, [&](int64_t pos) {
    std::memcpy(out + pos * static_cast<int64_t>(itemsize), in, itemsize);
    in += itemsize;
  });
}

}  // namespace kiln::runtime
