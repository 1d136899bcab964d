// The integer and bool matmul of the CUDA backend (matmul.h): one thread per result element,
// the interpreter's textbook loop over k. Integers multiply and add in u64 (wrapping) and are
// truncated to the stored width at the end, which equals the interpreter's int64 wraparound
// followed by its truncating store; bool is the or of ands, any nonzero byte reading as true.
// Not tiled: integer matmuls are rare (index arithmetic, counting), so simplicity wins.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/backends/cuda/codegen_expr.h"
#include "kiln/backends/cuda/matmul.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::backends::cuda {
namespace {

// T: memory type; ACC(sum, x, y): one step of the loop; OUT(sum): the stored result.
constexpr std::string_view kMatmulInt = R"CUDA(
// grid: ceil(n / 16) x ceil(m / 16) x batch, 16 x 16 threads.
extern "C" __global__ void __launch_bounds__(256) SYMBOL(const MatmulParams p) {
  const i64 row = (i64)blockIdx.y * 16 + threadIdx.x / 16;
  const i64 col = (i64)blockIdx.x * 16 + threadIdx.x % 16;
  if (row >= p.m || col >= p.n) return;
  i64 a_base, b_base;
  matmul_batch_bases(p, a_base, b_base);
  const T* a = p.a + a_base + row * p.a_stride_m;
  const T* b = p.b + b_base + col * p.b_stride_n;
  u64 sum = 0;
  for (i64 t = 0; t < p.k; ++t) ACC(sum, a[t * p.a_stride_k], b[t * p.b_stride_k]);
  p.c[(i64)blockIdx.z * p.m * p.n + row * p.n + col] = OUT(sum);
}
)CUDA";

}  // namespace

bool matmul_int_supported(DType dtype) { return !is_floating_point(dtype); }

std::string matmul_int_symbol(DType dtype) {
  return absl::StrCat("kiln_matmul_int_", sv(short_name(dtype)));
}

std::string matmul_int_source(DType dtype) {
  std::string acc, out;
  if (dtype == boolean) {
    acc = "if ((x) != 0 && (y) != 0) { s = 1; break; }";
    out = "(unsigned char)(s != 0)";
  } else {
    acc = "s += (u64)(i64)(x) * (u64)(i64)(y)";
    out = absl::StrCat("(", codegen::memory_type(dtype), ")(s)");
  }
  const std::string body =
      absl::StrReplaceAll(sv(kMatmulInt), {{"SYMBOL", matmul_int_symbol(dtype)}});
  return matmul_module_source(
      codegen::memory_type(dtype),
      absl::StrCat("#define ACC(s, x, y) ", acc, "\n#define OUT(s) ", out, "\n"), body);
}

}  // namespace kiln::backends::cuda
