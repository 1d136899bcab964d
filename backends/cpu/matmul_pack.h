// Packing for the CPU matmul (matmul.h): copies a block of A or B into the panel layout of the
// micro-kernel (matmul_kernel.h), converting each element from its storage type to the compute
// type on the way. Internal to the matmul driver.
//
// A block of A (m x kc) is packed row by row: each row contiguous, rows kc apart, so that for a
// row-major A packing is a copy. A block of B (kc x nc) is packed into nr-column panels: for
// each p, the nr values of the panel's columns next to each other (one vector load each in the
// micro-kernel). Partial panels are zero-filled, so the micro-kernel always computes whole
// tiles.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kiln/runtime/half.h"

namespace kiln::backends::cpu::matmul_detail {

// bool's storage: a byte, any nonzero value meaning true (as the interpreter reads it).
struct BoolByte {
  uint8_t value;
};

// Element `index` of storage type S at `data` (any alignment: buffers may be borrowed from the
// caller), converted to the compute type T.
template <class S, class T>
inline T load_as(const std::byte* data, int64_t index) {
  S s;
  std::memcpy(&s, data + index * static_cast<int64_t>(sizeof(S)), sizeof(S));
  if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
    return static_cast<float>(s);
  } else if constexpr (std::is_same_v<S, BoolByte>) {
    return s.value != 0 ? T{1} : T{0};
  } else {
    return static_cast<T>(s);
  }
}

// Stores compute value v into element `index` of storage type S: rounded to nearest even for
// float16/bfloat16, truncated to the stored width for integers (two's complement), v != 0 for
// bool.
template <class S, class T>
inline void store_as(std::byte* data, int64_t index, T v) {
  S s;
  if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
    s = S(static_cast<float>(v));
  } else if constexpr (std::is_same_v<S, BoolByte>) {
    s.value = v != T{0} ? 1 : 0;
  } else {
    s = static_cast<S>(v);
  }
  std::memcpy(data + index * static_cast<int64_t>(sizeof(S)), &s, sizeof(S));
}

// Copies `count` elements from `from` (storage S) to `to` (compute T). Without conversion a
// memcpy, of constant size for the usual panel widths so that it compiles to a few vector moves.
template <class S, class T>
inline void copy_run(const std::byte* from, int64_t count, T* to) {
  if constexpr (std::is_same_v<S, T>) {
    switch (count * static_cast<int64_t>(sizeof(T))) {
      case 64:
        std::memcpy(to, from, 64);
        return;
      case 128:
        std::memcpy(to, from, 128);
        return;
      case 256:
        std::memcpy(to, from, 256);
        return;
      default:
        std::memcpy(to, from, static_cast<size_t>(count) * sizeof(T));
        return;
    }
  } else {
    for (int64_t i = 0; i < count; ++i) to[i] = load_as<S, T>(from, i);
  }
}

inline constexpr int64_t kPrefetchRows = 4;

// Packs the m x k block of A whose element (i, p) is element i * rs + p * cs of `src`: row i
// goes to dst + i * stride (k elements), and the rows up to the next multiple of `width` are
// zero (a partial panel then computes zeros in the rows the driver discards).
template <class S, class T>
void pack_a(const std::byte* src, int64_t rs, int64_t cs, int64_t m, int64_t k, int width,
            int64_t stride, T* dst) {
  constexpr auto size = static_cast<int64_t>(sizeof(S));
  if (rs == 1 && cs != 1) {
    // A transposed (column-major): read along columns, which are contiguous.
    for (int64_t p = 0; p < k; ++p) {
      const std::byte* column = src + p * cs * size;
      for (int64_t i = 0; i < m; ++i) dst[i * stride + p] = load_as<S, T>(column, i);
    }
  } else {
    for (int64_t i = 0; i < m; ++i) {
      const std::byte* row = src + i * rs * size;
      if (cs == 1) {
        // Rows of a large A are a few hundred bytes each, pages apart, too short for the
        // hardware prefetcher to follow: fetch a row a few rows ahead of the one copied.
        if (i + kPrefetchRows < m) {
          const std::byte* ahead = row + kPrefetchRows * rs * size;
          for (int64_t at = 0; at < k * size; at += 64) __builtin_prefetch(ahead + at);
        }
        copy_run<S, T>(row, k, dst + i * stride);
      } else {
        for (int64_t p = 0; p < k; ++p) dst[i * stride + p] = load_as<S, T>(row, p * cs);
      }
    }
  }
  const int64_t padded = (m + width - 1) / width * width;
  for (int64_t i = m; i < padded; ++i) std::fill(dst + i * stride, dst + i * stride + k, T{0});
}

// Packs the k x n block of B whose element (p, j) is element p * rs + j * cs of `src` into
// ceil(n / width) panels: dst[(q * k + p) * width + jj] = B(p, q * width + jj). A last,
// partial panel of `tail` columns is `tail_width` wide instead (the edge kernel's nr), zero
// past n.
template <class S, class T>
void pack_b(const std::byte* src, int64_t rs, int64_t cs, int64_t k, int64_t n, int width,
            int tail_width, T* dst) {
  constexpr auto size = static_cast<int64_t>(sizeof(S));
  const int64_t full = n / width;
  const int tail = static_cast<int>(n - full * width);
  if (cs == 1) {
    // B row-major: row by row, so that reads stream through B's rows.
    for (int64_t p = 0; p < k; ++p) {
      const std::byte* row = src + p * rs * size;
      for (int64_t q = 0; q < full; ++q) {
        copy_run<S, T>(row + q * width * size, width, dst + (q * k + p) * width);
      }
      if (tail != 0) {
        T* to = dst + full * k * width + p * tail_width;
        for (int j = 0; j < tail; ++j) to[j] = load_as<S, T>(row + full * width * size, j);
        std::fill(to + tail, to + tail_width, T{0});
      }
    }
    return;
  }
  // B transposed or strided: column by column (contiguous when rs == 1).
  for (int64_t j = 0; j < n; ++j) {
    const int64_t q = j / width;
    const int64_t panel_width = q < full ? width : tail_width;
    T* to = dst + q * k * width + j % width;
    const std::byte* column = src + j * cs * size;
    for (int64_t p = 0; p < k; ++p) to[p * panel_width] = load_as<S, T>(column, p * rs);
  }
  if (tail != 0) {
    T* panel = dst + full * k * width;
    for (int64_t p = 0; p < k; ++p) {
      std::fill(panel + p * tail_width + tail, panel + (p + 1) * tail_width, T{0});
    }
  }
}

template <class T>
using PackAFn = void (*)(const std::byte* src, int64_t rs, int64_t cs, int64_t m, int64_t k,
                         int width, int64_t stride, T* dst);
template <class T>
using PackBFn = void (*)(const std::byte* src, int64_t rs, int64_t cs, int64_t k, int64_t n,
                         int width, int tail_width, T* dst);

}  // namespace kiln::backends::cpu::matmul_detail
