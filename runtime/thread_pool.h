// The process-wide thread pool that runs kernels over index ranges (parallel_for).
//
// One pool serves the whole process. Its size comes from KILN_NUM_THREADS (a decimal integer
// from 1 to kMaxThreads), else std::thread::hardware_concurrency(); the variable is read at the
// first use (num_threads(), or a parallel_for big enough to split), and an invalid value throws
// kiln::Error there (and at every later use until set_num_threads replaces it). "n threads" counts
// the calling thread: the pool starts n - 1 workers and the caller runs chunks too.
//
// A parallel_for call splits [begin, end) into at most num_threads() chunks of at least `grain`
// elements and returns when all have run. Ranges too small to split, calls from inside a chunk
// (nesting) and a pool of one thread run inline on the caller. Calls from several user threads
// are safe: they take turns on the pool. The first exception thrown by a chunk is rethrown on
// the caller once all chunks have finished; chunks not yet started by then are skipped.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>

namespace kiln::runtime {

inline constexpr int kMaxThreads = 1024;

// The pool size (>= 1). Throws kiln::Error when KILN_NUM_THREADS is invalid.
int num_threads();
// Resizes the pool (1 <= n <= kMaxThreads, else kiln::Error); waits for a running
// parallel_for. Meant for tests and benchmarks; must not be called from inside a chunk.
void set_num_threads(int n);
// The size KILN_NUM_THREADS asks for: `text` null or empty means "not set" (the core count).
// Throws kiln::Error naming the variable on anything else than an integer in [1, kMaxThreads].
int parse_num_threads(const char* text);

// True while the calling thread runs a chunk of a parallel_for (pool worker or caller).
bool in_parallel_region();

// The type-erased core: calls fn(context, chunk_begin, chunk_end) for every chunk. A plain
// function pointer, so JIT-compiled kernels `kernel(args, begin, end)` can be passed directly.
using RangeFn = void (*)(void* context, int64_t begin, int64_t end);
void parallel_for(int64_t begin, int64_t end, int64_t grain, RangeFn fn, void* context);

// fn(chunk_begin, chunk_end) for any callable; no allocation (fn is passed by address).
template <class Fn>
void parallel_for(int64_t begin, int64_t end, int64_t grain, Fn&& fn) {
  using F = std::remove_reference_t<Fn>;
  RangeFn thunk = [](void* context, int64_t b, int64_t e) { (*static_cast<F*>(context))(b, e); };
  parallel_for(begin, end, grain, thunk,
               const_cast<void*>(static_cast<const void*>(std::addressof(fn))));
}

}  // namespace kiln::runtime
