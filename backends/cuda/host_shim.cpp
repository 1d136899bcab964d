// The CUDA C dialect of kiln's kernels restated in host C++ (host_kernels.h): the text that every
// host module starts with.
//
// Execution model: a launch runs its blocks one after another on the calling thread. Within a
// block every CUDA thread is a fiber with its own stack. A fiber runs until it reaches a
// barrier (__syncthreads, __syncwarp, or the exchange inside a warp shuffle) or returns; the
// scheduler then runs the next fiber. When every live thread of a warp waits at a warp barrier
// that warp goes on; when every live thread of the block waits at __syncthreads the block goes
// on; when neither holds, the kernel would hang on a GPU too, and the launch fails with a
// deadlock error instead. `__shared__` variables are static thread_local: one copy that all
// fibers of the running block see. Atomics are plain read-modify-writes: fibers switch only at
// barriers, so nothing interleaves with them.
//
// Kernels that contain no barrier at all (module text without __syncthreads, __syncwarp or
// __shfl) run their threads as plain calls, one after another, with no fibers.
#include "kiln/backends/cuda/host_kernels.h"

namespace kiln::backends::cuda {

std::string_view host_cuda_shim() {
  static constexpr std::string_view kShim = R"SHIM(
// libm's functions, declared rather than included: <math.h> in C++ brings <cmath>, which would
// take most of a small module's compile time.
extern "C" {
double exp(double) noexcept; float expf(float) noexcept;
double expm1(double) noexcept; float expm1f(float) noexcept;
double exp2(double) noexcept; float exp2f(float) noexcept;
double log(double) noexcept; float logf(float) noexcept;
double log2(double) noexcept; float log2f(float) noexcept;
double log10(double) noexcept; float log10f(float) noexcept;
double log1p(double) noexcept; float log1pf(float) noexcept;
double sin(double) noexcept; float sinf(float) noexcept;
double cos(double) noexcept; float cosf(float) noexcept;
double tan(double) noexcept; float tanf(float) noexcept;
double sinh(double) noexcept; float sinhf(float) noexcept;
double cosh(double) noexcept; float coshf(float) noexcept;
double tanh(double) noexcept; float tanhf(float) noexcept;
double asin(double) noexcept; float asinf(float) noexcept;
double acos(double) noexcept; float acosf(float) noexcept;
double atan(double) noexcept; float atanf(float) noexcept;
double erf(double) noexcept; float erff(float) noexcept;
double erfc(double) noexcept; float erfcf(float) noexcept;
double floor(double) noexcept; float floorf(float) noexcept;
double ceil(double) noexcept; float ceilf(float) noexcept;
double rint(double) noexcept; float rintf(float) noexcept;
double trunc(double) noexcept; float truncf(float) noexcept;
double round(double) noexcept; float roundf(float) noexcept;
double nearbyint(double) noexcept; float nearbyintf(float) noexcept;
double sqrt(double) noexcept; float sqrtf(float) noexcept;
double cbrt(double) noexcept; float cbrtf(float) noexcept;
double fabs(double) noexcept; float fabsf(float) noexcept;
double lgamma(double) noexcept; float lgammaf(float) noexcept;
double tgamma(double) noexcept; float tgammaf(float) noexcept;
double pow(double, double) noexcept; float powf(float, float) noexcept;
double fmod(double, double) noexcept; float fmodf(float, float) noexcept;
double atan2(double, double) noexcept; float atan2f(float, float) noexcept;
double hypot(double, double) noexcept; float hypotf(float, float) noexcept;
double fmin(double, double) noexcept; float fminf(float, float) noexcept;
double fmax(double, double) noexcept; float fmaxf(float, float) noexcept;
double copysign(double, double) noexcept; float copysignf(float, float) noexcept;
double remainder(double, double) noexcept; float remainderf(float, float) noexcept;
double fma(double, double, double) noexcept; float fmaf(float, float, float) noexcept;
}
#define M_PI 3.14159265358979323846
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__
#define __restrict__ __restrict
#define __align__(n) alignas(n)
#define __shared__ static thread_local

struct dim3 {
  unsigned x, y, z;
};
struct uint2 {
  unsigned x, y;
};
struct uint4 {
  unsigned x, y, z, w;
};
struct int2 {
  int x, y;
};
struct int4 {
  int x, y, z, w;
};
struct float2 {
  float x, y;
};
struct float4 {
  float x, y, z, w;
};
inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) {
  return uint4{x, y, z, w};
}
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

namespace kiln_host {

enum State : int { kRunnable, kAtSyncthreads, kAtWarpBarrier, kDone };

struct Fiber {
  void* sp;
  State state;
  dim3 idx;
};

constexpr unsigned kMaxThreads = 1024;

struct Launch {
  Fiber fibers[kMaxThreads];
  unsigned count = 0;
  void* scheduler_sp = nullptr;
  void (*body)(void*) = nullptr;
  void* body_arg = nullptr;
  unsigned long long warp_slots[kMaxThreads];  // one exchange word per thread
  char* stacks = nullptr;  // fiber i's stack ends at stacks + (i + 1) * stack_span
  size_t stack_span = 0;
};

static thread_local Launch* g_launch = nullptr;
static thread_local Fiber* g_fiber = nullptr;
static thread_local Fiber g_plain_fiber;  // the running thread when the module has no fibers
static thread_local dim3 g_block_idx, g_block_dim, g_grid_dim;

#if defined(__x86_64__)
// Saves the callee-saved registers, the SSE control word and the x87 control word on the
// current stack, stores the stack pointer in *save, switches to `to` and restores its state.
extern "C" void kiln_host_switch(void** save, void* to);
asm(R"(
  .text
  .p2align 4
  .local kiln_host_switch
  .type kiln_host_switch,@function
kiln_host_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size kiln_host_switch,.-kiln_host_switch
)");

[[noreturn]] static void fiber_main();

// A fresh fiber's stack: the frame kiln_host_switch pops, returning into fiber_main with the
// stack aligned as at a function's entry.
static void* fresh_stack(char* top) {
  unsigned long long* sp = (unsigned long long*)((uintptr_t)top & ~(uintptr_t)15);
  *--sp = 0;                                // fiber_main's (never used) return address
  *--sp = (unsigned long long)&fiber_main;  // kiln_host_switch's ret
  for (int i = 0; i < 6; ++i) *--sp = 0;    // rbp rbx r12 r13 r14 r15
  unsigned csr = 0;
  unsigned short cw = 0;
  asm volatile("stmxcsr %0" : "=m"(csr));
  asm volatile("fnstcw %0" : "=m"(cw));
  *--sp = (unsigned long long)csr | ((unsigned long long)cw << 32);
  return sp;
}
#else
#error "host CUDA modules need an x86-64 host"
#endif

static void switch_to_scheduler(State state) {
  Fiber* self = g_fiber;
  self->state = state;
  kiln_host_switch(&self->sp, g_launch->scheduler_sp);
}

[[noreturn]] static void fiber_main() {
  g_launch->body(g_launch->body_arg);
  switch_to_scheduler(kDone);
  __builtin_trap();  // a finished fiber is never resumed
}

static unsigned linear_thread() {
  const dim3 t = g_fiber->idx;
  return t.x + g_block_dim.x * (t.y + g_block_dim.y * t.z);
}

// Runs one block; returns false (with `error`) when its threads deadlock.
static bool run_block(Launch& l, char* error, size_t error_len) {
  for (unsigned i = 0; i < l.count; ++i) {
    Fiber& f = l.fibers[i];
    f.state = kRunnable;
    f.idx = dim3{i % g_block_dim.x, (i / g_block_dim.x) % g_block_dim.y,
                 i / (g_block_dim.x * g_block_dim.y)};
    f.sp = fresh_stack(l.stacks + (i + 1) * l.stack_span);
  }
  const unsigned warps = (l.count + 31) / 32;
  for (;;) {
    for (unsigned i = 0; i < l.count; ++i) {
      if (l.fibers[i].state != kRunnable) continue;
      g_fiber = &l.fibers[i];
      kiln_host_switch(&l.scheduler_sp, l.fibers[i].sp);
    }
    // Nothing is runnable now: release the warps whose live threads all wait at a warp barrier,
    // else the block if every live thread waits at __syncthreads.
    bool released = false, all_done = true, all_at_syncthreads = true;
    for (unsigned w = 0; w < warps; ++w) {
      bool any_waiting = false, all_waiting = true;
      for (unsigned i = 32 * w; i < l.count && i < 32 * w + 32; ++i) {
        const State s = l.fibers[i].state;
        if (s != kDone) all_done = false;
        if (s == kAtWarpBarrier) any_waiting = true;
        if (s == kAtSyncthreads) all_waiting = false;
        if (s != kDone && s != kAtSyncthreads) all_at_syncthreads = false;
      }
      if (!any_waiting || !all_waiting) continue;
      for (unsigned i = 32 * w; i < l.count && i < 32 * w + 32; ++i)
        if (l.fibers[i].state == kAtWarpBarrier) l.fibers[i].state = kRunnable;
      released = true;
    }
    if (all_done) return true;
    if (released) continue;
    if (all_at_syncthreads) {
      for (unsigned i = 0; i < l.count; ++i)
        if (l.fibers[i].state == kAtSyncthreads) l.fibers[i].state = kRunnable;
      continue;
    }
    snprintf(error, error_len,
             "barrier deadlock in block (%u, %u, %u): some threads wait at __syncthreads while "
             "others of the same warp wait at a warp barrier",
             g_block_idx.x, g_block_idx.y, g_block_idx.z);
    return false;
  }
}

// Runs the kernel `body(arg)` over the grid, the fibers on the caller's stacks (kMaxThreads of
// `stack_span` bytes each). Returns 0, or nonzero with `error` set.
static int launch(const unsigned* grid, const unsigned* block, bool fibers, void (*body)(void*),
                  void* arg, char* stacks, size_t stack_span, char* error, size_t error_len) {
  const unsigned threads = block[0] * block[1] * block[2];
  if (threads == 0 || threads > kMaxThreads) {
    snprintf(error, error_len, "%u threads per block (1 to %u)", threads, kMaxThreads);
    return 1;
  }
  g_grid_dim = dim3{grid[0], grid[1], grid[2]};
  g_block_dim = dim3{block[0], block[1], block[2]};
  static thread_local Launch* state = nullptr;
  if (fibers && state == nullptr) state = new Launch();
  Launch* l = fibers ? state : nullptr;
  if (l != nullptr) {
    l->stacks = stacks;
    l->stack_span = stack_span;
    l->count = threads;
    l->body = body;
    l->body_arg = arg;
    g_launch = l;
  }
  for (unsigned z = 0; z < grid[2]; ++z)
    for (unsigned y = 0; y < grid[1]; ++y)
      for (unsigned x = 0; x < grid[0]; ++x) {
        g_block_idx = dim3{x, y, z};
        if (l != nullptr) {
          if (!run_block(*l, error, error_len)) return 1;
          continue;
        }
        g_fiber = &g_plain_fiber;
        for (unsigned i = 0; i < threads; ++i) {
          g_plain_fiber.idx = dim3{i % block[0], (i / block[0]) % block[1], i / (block[0] * block[1])};
          body(arg);
        }
      }
  return 0;
}

// Calls a kernel with cuLaunchKernel's argument array: args[i] points at parameter i. Kernel
// parameters are values (a function type drops their top-level const). The index sequence is
// spelled out because <utility> and <type_traits> took a fifth of every module's compile.
template <size_t... I>
struct index_list {};
template <size_t N, size_t... I>
struct make_index_list : make_index_list<N - 1, N - 1, I...> {};
template <size_t... I>
struct make_index_list<0, I...> {
  using type = index_list<I...>;
};
template <class... A, size_t... I>
void invoke(void (*kernel)(A...), void** args, index_list<I...>) {
  kernel(*static_cast<A*>(args[I])...);
}
template <class... A>
void invoke(void (*kernel)(A...), void** args) {
  invoke(kernel, args, typename make_index_list<sizeof...(A)>::type{});
}

template <class T>
unsigned long long to_bits(T v) {
  static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
  unsigned long long b = 0;
  memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T>
T from_bits(unsigned long long b) {
  T v;
  memcpy(&v, &b, sizeof(T));
  return v;
}

// Every lane publishes `v`, then reads lane `src` (its own value when `src` is outside the warp
// segment or not a live thread).
template <class T>
T exchange(T v, int src_lane) {
  const unsigned self = linear_thread();
  const unsigned warp_base = self & ~31u;
  g_launch->warp_slots[self] = to_bits(v);
  switch_to_scheduler(kAtWarpBarrier);
  const unsigned src = warp_base + (unsigned)src_lane;
  const T got = (src_lane >= 0 && src_lane < 32 && src < g_launch->count)
                    ? from_bits<T>(g_launch->warp_slots[src])
                    : v;
  switch_to_scheduler(kAtWarpBarrier);  // nobody overwrites a slot before all have read
  return got;
}

}  // namespace kiln_host

#define threadIdx (kiln_host::g_fiber->idx)
#define blockIdx (kiln_host::g_block_idx)
#define blockDim (kiln_host::g_block_dim)
#define gridDim (kiln_host::g_grid_dim)
#define warpSize 32

inline void __syncthreads() { kiln_host::switch_to_scheduler(kiln_host::kAtSyncthreads); }
inline void __syncwarp(unsigned = 0xffffffffu) {
  kiln_host::switch_to_scheduler(kiln_host::kAtWarpBarrier);
}
inline void __threadfence() {}
inline void __threadfence_block() {}

template <class T>
T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  const int lane = (int)(kiln_host::linear_thread() & 31u);
  const int segment = lane / width * width;
  const int src = lane + (int)delta;
  return kiln_host::exchange(v, src < segment + width ? src : -1);
}
template <class T>
T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  const int lane = (int)(kiln_host::linear_thread() & 31u);
  const int segment = lane / width * width;
  const int src = lane - (int)delta;
  return kiln_host::exchange(v, src >= segment ? src : -1);
}
template <class T>
T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
  const int lane = (int)(kiln_host::linear_thread() & 31u);
  const int src = lane ^ mask;
  return kiln_host::exchange(v, src / width == lane / width ? src : -1);
}
template <class T>
T __shfl_sync(unsigned, T v, int src_lane, int width = 32) {
  const int lane = (int)(kiln_host::linear_thread() & 31u);
  return kiln_host::exchange(v, lane / width * width + src_lane % width);
}

template <class T, class U>
T atomicExch(T* p, U v) {
  const T old = *p;
  *p = (T)v;
  return old;
}
template <class T, class U>
T atomicAdd(T* p, U v) {
  const T old = *p;
  *p = old + (T)v;
  return old;
}
template <class T, class U>
T atomicMax(T* p, U v) {
  const T old = *p;
  if (old < (T)v) *p = (T)v;
  return old;
}
template <class T, class U>
T atomicMin(T* p, U v) {
  const T old = *p;
  if ((T)v < old) *p = (T)v;
  return old;
}
template <class T, class U, class V>
T atomicCAS(T* p, U expected, V desired) {
  const T old = *p;
  if (old == (T)expected) *p = (T)desired;
  return old;
}

// CUDA's min/max overloads of the arithmetic types (mixed types compare in the common type:
// the type of a conditional expression over them, which is what std::common_type gives).
template <class T, class U>
decltype(true ? T() : U()) min(T a, U b) {
  return b < a ? b : a;
}
template <class T, class U>
decltype(true ? T() : U()) max(T a, U b) {
  return a < b ? b : a;
}

inline float __uint_as_float(unsigned u) { return kiln_host::from_bits<float>(u); }
inline unsigned __float_as_uint(float f) { return (unsigned)kiln_host::to_bits(f); }
inline int __float_as_int(float f) { return (int)kiln_host::to_bits(f); }
inline float __int_as_float(int i) { return kiln_host::from_bits<float>((unsigned)i); }
inline double __longlong_as_double(long long b) { return kiln_host::from_bits<double>(b); }
inline long long __double_as_longlong(double d) { return (long long)kiln_host::to_bits(d); }
// Correctly rounded host arithmetic (the module compiles with -ffp-contract=off).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline unsigned __umulhi(unsigned a, unsigned b) {
  return (unsigned)(((unsigned long long)a * b) >> 32);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
// The fast-math intrinsics and sincospi as their host counterparts: results within a few ulps
// of the GPU's (tests that compare them allow that).
inline void __sincosf(float x, float* s, float* c) {
  *s = sinf(x);
  *c = cosf(x);
}
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline void sincospi(double x, double* s, double* c) {
  *s = sin(M_PI * x);
  *c = cos(M_PI * x);
}
inline void sincospif(float x, float* s, float* c) {
  *s = sinf((float)M_PI * x);
  *c = cosf((float)M_PI * x);
}
)SHIM";
  return kShim;
}

}  // namespace kiln::backends::cuda
