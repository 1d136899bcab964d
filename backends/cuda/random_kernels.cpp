#include "kiln/backends/cuda/random_kernels.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/backends/cuda/codegen_expr.h"
#include "kiln/backends/cuda/host_kernels.h"
#include "kiln/backends/cuda/module_cache.h"
#include "kiln/backends/cuda/random_host.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/cuda/driver.h"
#include "kiln/runtime/cuda/emulated_driver.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cuda {
namespace {

namespace rc = runtime::cuda;
using codegen::memory_type;

// Bump when the emitted code changes.
constexpr std::string_view kRandomVersion = "cuda-random/1";

// The kernel's by-value parameter (layout shared with kKernel below).
struct RandomParams {
  uint64_t out = 0;
  int64_t numel = 0;
  uint64_t seed = 0;
  uint64_t offset = 0;
  double a = 0, b = 0, c = 0;
  int64_t low = 0;
  uint64_t range = 1;
};

// curand's Philox4x32-10 and its engine calls, for a state whose offset is a multiple of 4 (the
// generator keeps it so): then curand4's k-th call returns the block of counter
// (offset / 4 + k, subsequence), and the float conversions below are curand's, with the
// multiply-adds nvcc contracts written as fma.
constexpr std::string_view kEngine = R"CUDA(
KI uint4 k_philox_round(uint4 c, uint2 k) {
  const u32 hi0 = __umulhi(0xD2511F53u, c.x), hi1 = __umulhi(0xCD9E8D57u, c.z);
  return make_uint4(hi1 ^ c.y ^ k.x, 0xCD9E8D57u * c.z, hi0 ^ c.w ^ k.y, 0xD2511F53u * c.x);
}
KI uint4 k_philox(uint4 c, uint2 k) {
  c = k_philox_round(c, k);
#pragma unroll
  for (int r = 1; r < 10; ++r) {
    k.x += 0x9E3779B9u;
    k.y += 0xBB67AE85u;
    c = k_philox_round(c, k);
  }
  return c;
}
// _curand_uniform: x * 2^-32 + 2^-32 / 2, in (0, 1].
KI float k_unit_float(u32 x) { return fmaf((float)x, 2.3283064e-10f, 2.3283064e-10f / 2.0f); }
// _curand_uniform_double_hq: 53 bits of two words.
KI double k_unit_double(u32 x, u32 y) {
  const u64 z = (u64)x ^ ((u64)y << (53 - 32));
  return fma((double)z, 1.1102230246251565e-16, 1.1102230246251565e-16 / 2.0);
}
// _curand_box_muller: two normals from two words.
KI void k_box_muller(u32 x, u32 y, float* out) {
  const float two_pi_scale = 2.3283064e-10f * 6.2831855f;
  const float u = fmaf((float)x, 2.3283064e-10f, 2.3283064e-10f / 2);
  const float v = fmaf((float)y, two_pi_scale, two_pi_scale / 2);
  const float s = sqrtf(-2.0f * logf(u));
  float sn, cs;
  __sincosf(v, &sn, &cs);
  out[0] = sn * s;
  out[1] = cs * s;
}
// _curand_box_muller_double: two normals from four words.
KI void k_box_muller_double(uint4 x, double* out) {
  const u64 zx = (u64)x.x ^ ((u64)x.y << (53 - 32));
  const double u = fma((double)zx, 1.1102230246251565e-16, 1.1102230246251565e-16 / 2.0);
  const u64 zy = (u64)x.z ^ ((u64)x.w << (53 - 32));
  const double v = fma((double)zy, 1.1102230246251565e-16 * 2.0, 1.1102230246251565e-16);
  const double s = sqrt(-2.0 * log(u));
  double sn, cs;
  sincospi(v, &sn, &cs);
  out[0] = sn * s;
  out[1] = cs * s;
}
)CUDA";

// distribution_elementwise_grid_stride_kernel. DRAW(x, r) fills ACC r[UNROLL] from one Philox
// block; STORE(i, v) writes element i from value v.
constexpr std::string_view kKernel = R"CUDA(
struct RandomParams {
  T* out;
  i64 numel;
  u64 seed, offset;
  double a, b, c;
  i64 low;
  u64 range;
};

extern "C" __global__ void __launch_bounds__(256) SYMBOL(const RandomParams p) {
  const i64 idx = (i64)blockIdx.x * blockDim.x + threadIdx.x;
  const uint2 key = make_uint2((u32)p.seed, (u32)(p.seed >> 32));
  const u32 sub_lo = (u32)idx, sub_hi = (u32)((u64)idx >> 32);
  u64 counter = p.offset / 4;
  const i64 threads = (i64)blockDim.x * gridDim.x;
  const i64 step = threads * UNROLL;
  const i64 rounded = ((p.numel - 1) / step + 1) * step;
  for (i64 li = idx; li < rounded; li += step) {
    const uint4 x = k_philox(make_uint4((u32)counter, (u32)(counter >> 32), sub_lo, sub_hi), key);
    ++counter;
    ACC r[UNROLL];
    DRAW(x, r);
#pragma unroll
    for (int ii = 0; ii < UNROLL; ++ii) {
      const i64 e = li + threads * ii;
      if (e < p.numel) STORE(e, r[ii]);
    }
  }
}
)CUDA";

bool floating(DType d) { return is_floating_point(d); }

// The emulated device's fill (runtime/cuda/emulated_driver.h): the kernels' values computed on
// the host by their restatement, element for element, then stored as the kernel stores them.
template <class T>
void store_all(void* out, const std::vector<double>& values) {
  T* to = static_cast<T*>(out);
  for (size_t i = 0; i < values.size(); ++i) {
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
      to[i] = T(static_cast<float>(values[i]));
    else
      to[i] = static_cast<T>(values[i]);
  }
}

void fill_on_host(void* out, int64_t numel, const RandomFill& fill, unsigned grid,
                  const runtime::PhiloxState& state) {
  if (fill.dtype == int64 && fill.kind == RandomKind::kRandomFromTo) {
    const std::vector<int64_t> values = random_host::emulate_int64(fill, numel, grid, state);
    rc::DeviceAccess access;
    std::copy(values.begin(), values.end(), static_cast<int64_t*>(out));
    return;
  }
  const std::vector<double> values = random_host::emulate(fill, numel, grid, state);
  rc::DeviceAccess access;
  switch (fill.dtype.kind()) {
    case DType::Kind::kFloat32:
      return store_all<float>(out, values);
    case DType::Kind::kFloat64:
      return store_all<double>(out, values);
    case DType::Kind::kFloat16:
      return store_all<Half>(out, values);
    case DType::Kind::kBFloat16:
      return store_all<BFloat16>(out, values);
    case DType::Kind::kInt8:
      return store_all<int8_t>(out, values);
    case DType::Kind::kInt16:
      return store_all<int16_t>(out, values);
    case DType::Kind::kInt32:
      return store_all<int32_t>(out, values);
    case DType::Kind::kUInt8:
      return store_all<uint8_t>(out, values);
    case DType::Kind::kBool:
      return store_all<bool>(out, values);
    default:
      throw Error(absl::StrCat("random numbers on the emulated CUDA device: no store for ",
                               sv(name(fill.dtype))));
  }
}

// float -> T for a floating dtype (round to nearest even, c10's casts).
std::string from_float(DType d, const std::string& x) {
  if (d == float16) return absl::StrCat("k_f2h(", x, ")");
  if (d == bfloat16) return absl::StrCat("k_f2b(", x, ")");
  return x;
}
std::string to_float(DType d, const std::string& x) {
  if (d == float16) return absl::StrCat("k_h2f(", x, ")");
  if (d == bfloat16) return absl::StrCat("k_b2f(", x, ")");
  return x;
}

// int64 -> T (static_cast<scalar_t>(int64_t) in ATen: Half and BFloat16 through float).
std::string from_int64(DType d, const std::string& x) {
  if (d == boolean) return absl::StrCat("(unsigned char)((", x, ") != 0)");
  if (d == float16 || d == bfloat16) return from_float(d, absl::StrCat("(float)(", x, ")"));
  return absl::StrCat("(", memory_type(d), ")(", x, ")");
}

std::string draw_code(RandomDraw draw) {
  switch (draw) {
    case RandomDraw::kUniform4:
      return "r[0] = k_unit_float(x.x); r[1] = k_unit_float(x.y); r[2] = k_unit_float(x.z); "
             "r[3] = k_unit_float(x.w)";
    case RandomDraw::kUniform2Double:
      return "r[0] = k_unit_double(x.x, x.y); r[1] = k_unit_double(x.z, x.w)";
    case RandomDraw::kNormal4:
      return "k_box_muller(x.x, x.y, r); k_box_muller(x.z, x.w, r + 2)";
    case RandomDraw::kNormal2Double:
      return "k_box_muller_double(x, r)";
    case RandomDraw::kBits4:
      return "r[0] = x.x; r[1] = x.y; r[2] = x.z; r[3] = x.w";
    case RandomDraw::kBits2x64:
      return "r[0] = ((u64)x.x << 32) | x.y; r[1] = ((u64)x.z << 32) | x.w";
  }
  throw Error("random kernels: unknown draw");
}

std::string acc_type(RandomDraw draw) {
  switch (draw) {
    case RandomDraw::kUniform4:
    case RandomDraw::kNormal4:
      return "float";
    case RandomDraw::kUniform2Double:
    case RandomDraw::kNormal2Double:
      return "double";
    case RandomDraw::kBits4:
      return "u32";
    case RandomDraw::kBits2x64:
      return "u64";
  }
  throw Error("random kernels: unknown draw");
}

// The transform of ATen's kernel for `kind`, as a statement storing value v into p.out[i].
std::string store_code(RandomKind kind, DType d, RandomDraw draw) {
  const std::string acc = acc_type(draw);
  const std::string fma = acc == "double" ? "fma" : "fmaf";
  const auto store = [](const std::string& v) { return absl::StrCat("p.out[i] = ", v); };
  switch (kind) {
    case RandomKind::kUniform:
      // value = scalar_t(rand * range + from); value == to ? from : value (the bound reversal
      // that maps curand's (0, 1] onto [from, to)).
      return absl::StrCat("{ const ", memory_type(d), " value = ",
                          from_float(d, absl::StrCat(fma, "(v, (", acc, ")p.c, (", acc, ")p.a)")),
                          "; ",
                          store(absl::StrCat("(", to_float(d, "value"), " == (", acc, ")p.b) ? ",
                                             from_float(d, "(" + acc + ")p.a"), " : value")),
                          "; }");
    case RandomKind::kNormal:
      return store(from_float(d, absl::StrCat(fma, "(v, (", acc, ")p.b, (", acc, ")p.a)")));
    case RandomKind::kRandomFromTo:
      return store(from_int64(d, "(i64)((u64)v % p.range + (u64)p.low)"));
    case RandomKind::kBernoulli:
      return store(from_float(d, absl::StrCat("(", acc, ")(v < (", acc, ")p.a)")));
  }
  throw Error("random kernels: unknown kind");
}

const char* kind_name(RandomKind kind) {
  switch (kind) {
    case RandomKind::kUniform:
      return "uniform";
    case RandomKind::kNormal:
      return "normal";
    case RandomKind::kRandomFromTo:
      return "random";
    case RandomKind::kBernoulli:
      return "bernoulli";
  }
  return "?";
}

const char* draw_name(RandomDraw draw) {
  switch (draw) {
    case RandomDraw::kUniform4:
      return "u4";
    case RandomDraw::kUniform2Double:
      return "u2d";
    case RandomDraw::kNormal4:
      return "n4";
    case RandomDraw::kNormal2Double:
      return "n2d";
    case RandomDraw::kBits4:
      return "b4";
    case RandomDraw::kBits2x64:
      return "b2x64";
  }
  return "?";
}

void check_dtype(RandomKind kind, DType d) {
  if (kind != RandomKind::kRandomFromTo && !floating(d))
    throw Error(absl::StrCat("random kernels: ", kind_name(kind), " takes a floating dtype, not ",
                             sv(name(d))));
}

}  // namespace

RandomDraw random_draw(const RandomFill& fill) {
  const bool f64 = fill.dtype == float64;
  switch (fill.kind) {
    case RandomKind::kUniform:
    case RandomKind::kBernoulli:
      return f64 ? RandomDraw::kUniform2Double : RandomDraw::kUniform4;
    case RandomKind::kNormal:
      return f64 ? RandomDraw::kNormal2Double : RandomDraw::kNormal4;
    case RandomKind::kRandomFromTo:
      // "allow approx 5% skew in uniform int generation using %": 64-bit draws from 2^28 up.
      return fill.range >= (uint64_t{1} << 28) ? RandomDraw::kBits2x64 : RandomDraw::kBits4;
  }
  throw Error("random kernels: unknown kind");
}

int random_unroll(RandomDraw draw) {
  return draw == RandomDraw::kUniform4 || draw == RandomDraw::kNormal4 || draw == RandomDraw::kBits4
             ? 4
             : 2;
}

RandomLaunch random_launch(int64_t numel, int unroll, int multiprocessors,
                           int max_threads_per_multiprocessor) {
  constexpr uint32_t kBlock = 256;
  const uint64_t n = static_cast<uint64_t>(numel);
  RandomLaunch launch;
  launch.block = kBlock;
  const uint64_t blocks = (n + kBlock - 1) / kBlock;
  const uint64_t blocks_per_sm = static_cast<uint32_t>(max_threads_per_multiprocessor) / kBlock;
  launch.grid = static_cast<unsigned>(
      std::min<uint64_t>(static_cast<uint64_t>(multiprocessors) * blocks_per_sm, blocks));
  // PyTorch's max_generator_offsets_per_curand_call: 4 numbers per engine call.
  const uint64_t per_launch = uint64_t{kBlock} * launch.grid * static_cast<uint64_t>(unroll);
  launch.counter_offset = n == 0 ? 0 : ((n - 1) / per_launch + 1) * 4;
  return launch;
}

std::string random_kernel_symbol(RandomKind kind, DType dtype, RandomDraw draw) {
  return absl::StrCat("kiln_random_", kind_name(kind), "_", sv(short_name(dtype)), "_",
                      draw_name(draw));
}

std::string random_kernel_source(RandomKind kind, DType dtype, RandomDraw draw) {
  check_dtype(kind, dtype);
  const std::string body =
      absl::StrReplaceAll(sv(kKernel), {{"SYMBOL", random_kernel_symbol(kind, dtype, draw)}});
  return absl::StrCat(sv(cuda_prelude()), sv(kEngine), "\n#define T ", memory_type(dtype),
                      "\n#define ACC ", acc_type(draw), "\n#define UNROLL ", random_unroll(draw),
                      "\n#define DRAW(x, r) ", draw_code(draw), "\n#define STORE(i, v) ",
                      store_code(kind, dtype, draw), "\n", body);
}

runtime::PhiloxState fill_random(int index, void* out, int64_t numel, const RandomFill& fill) {
  check_dtype(fill.kind, fill.dtype);
  // TensorIterator's can_use_32bit_indexing: the last element's byte offset must fit int32.
  const int64_t max_offset = 1 + (numel - 1) * static_cast<int64_t>(itemsize(fill.dtype));
  if (numel > 0 && max_offset > std::numeric_limits<int32_t>::max())
    throw Error(absl::StrCat(
        "random numbers on CUDA: ", numel, " elements of ", sv(name(fill.dtype)),
        " span 2 GiB or more, which is not supported yet (PyTorch splits such tensors into "
        "32-bit indexed parts, each with its own generator offset)"));
  if (numel <= 0) return runtime::PhiloxState{};
  const RandomDraw draw = random_draw(fill);
  const rc::DeviceProperties& props = rc::device_properties(index);
  const RandomLaunch launch = random_launch(numel, random_unroll(draw), props.multiprocessors,
                                            props.max_threads_per_multiprocessor);
  runtime::PhiloxGenerator& generator = runtime::cuda_generator(index);
  runtime::PhiloxState state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    state = generator.philox_state(launch.counter_offset);
  }
  if (rc::emulated() && !kernels_run_on_host()) {
    fill_on_host(out, numel, fill, launch.grid, state);
    return state;
  }
  const std::string symbol = random_kernel_symbol(fill.kind, fill.dtype, draw);
  const std::string key = absl::StrCat(sv(kRandomVersion), "\n", symbol);
  rc::CUfunction f = cuda_function(
      index, key, symbol, [&] { return random_kernel_source(fill.kind, fill.dtype, draw); },
      {.fmad = true});
  RandomParams params;
  params.out = reinterpret_cast<uint64_t>(out);
  params.numel = numel;
  params.seed = state.seed;
  params.offset = state.offset;
  params.a = fill.a;
  params.b = fill.b;
  params.c = fill.c;
  params.low = fill.low;
  params.range = fill.range;
  void* args[] = {&params};
  const rc::Driver& d = rc::require_driver();
  rc::check(d.cuLaunchKernel(f, launch.grid, 1, 1, launch.block, 1, 1, 0, nullptr, args, nullptr),
            "cuLaunchKernel");
  return state;
}

}  // namespace kiln::backends::cuda
