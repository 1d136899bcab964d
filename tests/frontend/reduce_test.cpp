// Reductions against PyTorch: every "reduce." row of op_cases.inc (make_op_cases.py holds the
// torch expression of each name), plus result dtypes and shapes across dtypes.
#include "op_cases.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT: the inputs in_x() ...

const double kNan = std::numeric_limits<double>::quiet_NaN();

Tensor values_of(const std::tuple<Tensor, Tensor>& r) { return std::get<0>(r); }
Tensor indices_of(const std::tuple<Tensor, Tensor>& r) { return std::get<1>(r); }

CaseTable reduction_cases() {
  return {
      {"reduce.sum", [] { return in_x().sum(); }},
      {"reduce.sum_dim0", [] { return in_x().sum(0); }},
      {"reduce.sum_dim1_keepdim", [] { return in_x().sum(1, true); }},
      {"reduce.sum_neg_dim", [] { return in_x3().sum(-1); }},
      {"reduce.sum_dims",
       [] {
         return in_x3().sum(Shape{0, 2});
       }},
      {"reduce.sum_dims_keepdim",
       [] {
         return in_x3().sum(Shape{2, 0}, true);
       }},
      {"reduce.sum_int", [] { return in_xi().sum(); }},
      {"reduce.sum_int32", [] { return in_xi().to(int32).sum(0); }},
      {"reduce.sum_bool", [] { return in_xb().sum(); }},
      {"reduce.sum_uint8",
       [] {
         return tensor({200, 100}, uint8).sum();
       }},
      {"reduce.sum_float16", [] { return in_x().to(float16).sum(1); }},
      {"reduce.sum_empty",
       [] {
         return ones({0, 3}).sum(0);
       }},
      {"reduce.sum_0d", [] { return tensor(2.5).sum(); }},
      {"reduce.sum_transposed", [] { return in_x().t().sum(1); }},
      {"reduce.prod", [] { return in_x().prod(); }},
      {"reduce.prod_dim", [] { return in_xi().prod(1); }},
      {"reduce.prod_keepdim", [] { return in_x().prod(0, true); }},
      {"reduce.mean", [] { return in_x().mean(); }},
      {"reduce.mean_dim0", [] { return in_x().mean(0); }},
      {"reduce.mean_dim1_keepdim", [] { return in_x().mean(1, true); }},
      {"reduce.mean_dims",
       [] {
         return in_x3().mean(Shape{0, 1});
       }},
      {"reduce.mean_float64", [] { return in_x().to(float64).mean(1); }},
      {"reduce.mean_empty", [] { return ones({0}).mean(); }},
      {"reduce.max", [] { return in_x().max(); }},
      {"reduce.min", [] { return in_x().min(); }},
      {"reduce.max_int", [] { return in_xi().max(); }},
      {"reduce.max_nan",
       [] {
         return tensor({1.0, kNan, 3.0}).max();
       }},
      {"reduce.max_dim1_values", [] { return values_of(in_x().max(1)); }},
      {"reduce.max_dim1_indices", [] { return indices_of(in_x().max(1)); }},
      {"reduce.max_dim0_keepdim_values", [] { return values_of(in_x().max(0, true)); }},
      {"reduce.max_dim0_keepdim_indices", [] { return indices_of(in_x().max(0, true)); }},
      {"reduce.min_dim1_values", [] { return values_of(in_xi().min(1)); }},
      {"reduce.min_dim1_indices", [] { return indices_of(in_xi().min(1)); }},
      {"reduce.min_neg_dim_indices", [] { return indices_of(in_x3().min(-2)); }},
      {"reduce.max_bool_dim", [] { return values_of(in_xb().max(1)); }},
      {"reduce.amax_dims",
       [] {
         return in_x3().amax({0, 2});
       }},
      {"reduce.amin_keepdim", [] { return in_x().amin({1}, true); }},
      {"reduce.argmax_ties", [] { return in_x().argmax(1); }},
      {"reduce.argmax_flat", [] { return in_x().argmax(); }},
      {"reduce.argmax_dim0", [] { return in_x().argmax(0); }},
      {"reduce.argmax_keepdim", [] { return in_x().argmax(0, true); }},
      {"reduce.argmin_ties",
       [] {
         return tensor({{2, 1, 1}, {0, 0, 3}}).argmin(1);
       }},
      {"reduce.argmin_flat", [] { return in_x().argmin(); }},
      {"reduce.argmax_int", [] { return in_xi().argmax(0); }},
      {"reduce.argmax_nan",
       [] {
         return tensor({1.0, kNan, 3.0, kNan}).argmax();
       }},
      {"reduce.argmax_bool", [] { return in_xb().argmax(1); }},
      {"reduce.argmax_0d", [] { return tensor(3.0).argmax(); }},
      {"reduce.std", [] { return in_x().std(); }},
      {"reduce.std_dim", [] { return in_x().std(1); }},
      {"reduce.std_dim_keepdim", [] { return in_x().std(0, true); }},
      {"reduce.std_population", [] { return in_x().std(1, false, 0); }},
      {"reduce.var", [] { return in_x().var(); }},
      {"reduce.var_dim", [] { return in_x3().var(2); }},
      {"reduce.var_single", [] { return tensor({2.0}).var(); }},
      {"reduce.var_float64", [] { return in_x().to(float64).var(0); }},
      {"reduce.all", [] { return in_xb().all(); }},
      {"reduce.all_dim", [] { return in_xb().all(0); }},
      {"reduce.any", [] { return in_xb().any(); }},
      {"reduce.any_dim_keepdim", [] { return in_xb().any(1, true); }},
      {"reduce.all_float", [] { return in_x().all(1); }},
      {"reduce.any_int", [] { return (in_xi() * 0).any(); }},
      {"reduce.all_uint8",
       [] {
         return tensor({1, 2, 0}, uint8).all();
       }},
      {"reduce.all_empty", [] { return ones({0}).all(); }},
      {"reduce.any_empty", [] { return ones({0}).any(); }},
  };
}

TEST(Reduce, MatchTorch) { check_op_cases("reduce.", reduction_cases()); }

TEST(Reduce, SumAndProdOfIntegersAccumulateInInt64) {
  // torch.ones(3, dtype=d).sum().dtype is int64 for every integral d and bool
  for (DType d : {int8, int16, int32, int64, uint8, boolean}) {
    SCOPED_TRACE(name(d));
    EXPECT_EQ(ones({3}, d).sum().dtype(), int64);
    EXPECT_EQ(ones({3}, d).sum(0, true).dtype(), int64);
    EXPECT_EQ(ones({3}, d).prod().dtype(), int64);
    EXPECT_EQ(ones({3}, d).max().dtype(), d);
    if (d != boolean) {
      EXPECT_EQ(ones({3}, d).argmin(0).dtype(), int64);
    }
  }
  // torch.ones(3, dtype=torch.bool).argmin(0): "argmin_cpu" not implemented for 'Bool'
  EXPECT_KILN_ERROR(ones({3}, boolean).argmin(0), "\"argmin_cpu\" not implemented for 'Bool'");
  EXPECT_KILN_ERROR(ones({3}, boolean).argmax(), "\"argmax_cpu\" not implemented for 'Bool'");
  // ... while max(dim) of bool works and gives indices: torch.tensor([False, True]).max(0)
  EXPECT_EQ(std::get<1>(tensor({false, true}).max(0)).item<int64_t>(), 1);
  for (DType d : {float32, float64, float16, bfloat16}) {
    SCOPED_TRACE(name(d));
    EXPECT_EQ(ones({3}, d).sum().dtype(), d);
    EXPECT_EQ(ones({3}, d).mean().dtype(), d);
    EXPECT_EQ(ones({3}, d).std().dtype(), d);
    EXPECT_EQ(ones({3}, d).all().dtype(), boolean);
  }
  // int8 overflow wraps only in the int8 input, not in the int64 sum: 100 * 3 = 300
  EXPECT_EQ(full({3}, 100, int8).sum().item<int64_t>(), 300);
}

TEST(Reduce, ResultShapesWithAndWithoutKeepdim) {
  const Tensor t = ones({2, 3, 4});
  EXPECT_EQ(t.sum().sizes(), Shape{});
  EXPECT_EQ(t.sum(1).sizes(), (Shape{2, 4}));
  EXPECT_EQ(t.sum(1, true).sizes(), (Shape{2, 1, 4}));
  EXPECT_EQ(t.sum(Shape{0, 2}).sizes(), (Shape{3}));
  EXPECT_EQ(t.sum(Shape{-1, 0}, true).sizes(), (Shape{1, 3, 1}));
  EXPECT_EQ(t.mean(Shape{}).sizes(), Shape{});  // torch: an empty dim list reduces everything
  EXPECT_EQ(std::get<0>(t.max(2)).sizes(), (Shape{2, 3}));
  EXPECT_EQ(std::get<1>(t.min(0, true)).sizes(), (Shape{1, 3, 4}));
  EXPECT_EQ(t.argmax().sizes(), Shape{});
  EXPECT_EQ(t.var(1, true).sizes(), (Shape{2, 1, 4}));
  EXPECT_EQ(t.any(2, true).sizes(), (Shape{2, 3, 1}));
  // 0-d tensors reduce over dim 0 or -1
  EXPECT_EQ(tensor(2.0).sum(0).item<double>(), 2.0);
  EXPECT_EQ(tensor(2.0).sum(-1, true).sizes(), Shape{});
}

TEST(Reduce, EmptyDimListSumsEverything) {
  // torch.ones(2, 3).sum(dim=[]) -> tensor(6.)
  EXPECT_EQ(ones({2, 3}).sum(Shape{}).item<float>(), 6.0f);
  EXPECT_EQ(ones({2, 3}).mean(Shape{}).item<float>(), 1.0f);
}

}  // namespace
}  // namespace kiln
