// The caching CPU allocator behind Buffer::allocate.
//
// Requests are rounded up to a size class: multiples of 64 bytes up to 256, then four classes
// per power of two (320, 384, 448, 512, 640, ...), so at most 25% is wasted. A freed block is
// kept on its class's free list and handed to the next request of that class, so large
// temporaries do not page-fault (and the system does not zero pages) on every operation.
// Cached bytes are capped: KILN_CPU_CACHE_LIMIT_MB (default 4096; read at the first allocation,
// an invalid value throws kiln::Error there); a freed block that would exceed it goes back to
// the system. All functions are thread-safe.
//
// Sanitizer builds (KILN_SANITIZE) cache nothing unless the limit is set explicitly, so that
// AddressSanitizer sees every free; when they do cache, cached blocks and the slack past each
// request are poisoned, so stray accesses still trap.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kiln/runtime/buffer.h"

namespace kiln::runtime {

inline constexpr size_t kCpuAlignment = 64;

// The number of bytes a request of `nbytes` really gets (>= 64; throws kiln::Error beyond
// 2^62 bytes).
size_t cpu_size_class(size_t nbytes);

// 64-byte aligned memory for nbytes (zero included: a valid, non-null block). Reuses a cached
// block of the same class when there is one. Throws kiln::Error when out of memory.
void* cpu_allocate(size_t nbytes);
// Returns a block from cpu_allocate; `nbytes` must be the size it was requested with.
void cpu_free(void* data, size_t nbytes) noexcept;

MemoryStats cpu_memory_stats();
void cpu_empty_cache();
void cpu_reset_peak_memory_stats();

// The cap on cached bytes. Setting it (>= 0; 0 disables caching) frees cached blocks beyond it.
int64_t cpu_cache_limit();
void set_cpu_cache_limit(int64_t bytes);
// The cap KILN_CPU_CACHE_LIMIT_MB asks for, in bytes: null or empty means the default. Throws
// kiln::Error naming the variable on anything but a non-negative integer number of megabytes.
int64_t parse_cpu_cache_limit(const char* text);

}  // namespace kiln::runtime
