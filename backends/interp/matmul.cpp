// matmul(a[..., m, k], b[..., k, n]) -> [..., m, n] over equal batch dims, by the textbook
// triple loop. Floating types accumulate in double and round once at the end; integers wrap;
// bool is the logical or of ands (stored 0/1).
#include "kiln/backends/interp/element.h"
#include "kiln/backends/interp/kernels.h"

namespace kiln::backends::interp {

void eval_matmul(const ir::Node& node, Operands in, std::byte* out) {
  const Operand &a = in[0], &b = in[1];
  const Shape& a_shape = a.type->shape;
  const size_t rank = a_shape.size();
  const int64_t m = a_shape[rank - 2];
  const int64_t k = a_shape[rank - 1];
  const int64_t n = b.type->shape[rank - 1];
  int64_t batch = 1;
  for (size_t d = 0; d + 2 < rank; ++d) batch *= a_shape[d];

  visit_dtype(node.type.dtype, [&]<class S>(std::type_identity<S>) {
    using C = compute_t<S>;
    for (int64_t p = 0; p < batch; ++p) {
      const int64_t a_base = p * m * k, b_base = p * k * n, out_base = p * m * n;
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          const auto a_at = [&](int64_t t) { return load<S>(a.data, a_base + i * k + t); };
          const auto b_at = [&](int64_t t) { return load<S>(b.data, b_base + t * n + j); };
          C result;
          if constexpr (is_floating_storage<S>) {
            double sum = 0.0;
            for (int64_t t = 0; t < k; ++t)
              sum += static_cast<double>(a_at(t)) * static_cast<double>(b_at(t));
            result = static_cast<C>(sum);
          } else if constexpr (std::is_same_v<S, Bool8>) {
            result = 0;
            for (int64_t t = 0; t < k && result == 0; ++t) result = a_at(t) != 0 && b_at(t) != 0;
          } else {
            result = 0;
            for (int64_t t = 0; t < k; ++t) result = wrap_add(result, wrap_mul(a_at(t), b_at(t)));
          }
          store<S>(out, out_base + i * n + j, result);
        }
      }
    }
  });
}

}  // namespace kiln::backends::interp
