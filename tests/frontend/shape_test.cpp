// Shape ops, cat/stack and matrix products against PyTorch: every "shape." row of
// op_cases.inc (make_op_cases.py holds the torch expression of each name), plus the view
// metadata (sizes, strides, offsets) PyTorch computes.
#include "op_cases.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT: the inputs in_x() ...

CaseTable shape_cases() {
  const auto x = [] { return in_x(); };
  const auto x3 = [] { return in_x3(); };
  const auto v3 = [] { return in_v3(); };
  return {
      {"shape.reshape",
       [=] {
         return x().reshape({2, 6});
       }},
      {"shape.reshape_infer",
       [=] {
         return x3().reshape({-1, 6});
       }},
      {"shape.reshape_transposed", [=] { return x().t().reshape({12}); }},
      {"shape.view",
       [=] {
         return x3().view({4, 6});
       }},
      {"shape.transpose", [=] { return x3().transpose(0, 2); }},
      {"shape.t", [=] { return x().t(); }},
      {"shape.t_1d", [=] { return v3().t(); }},
      {"shape.permute",
       [=] {
         return x3().permute({2, 0, 1});
       }},
      {"shape.permute_neg",
       [=] {
         return x3().permute({-1, -3, -2});
       }},
      {"shape.squeeze",
       [] {
         return ones({1, 3, 1, 2}).squeeze();
       }},
      {"shape.squeeze_dim",
       [] {
         return ones({1, 3, 1}).squeeze(-1);
       }},
      {"shape.squeeze_noop", [=] { return x().squeeze(0); }},
      {"shape.unsqueeze", [=] { return x().unsqueeze(1); }},
      {"shape.unsqueeze_end", [=] { return x().unsqueeze(-1); }},
      {"shape.flatten", [=] { return x3().flatten(); }},
      {"shape.flatten_range", [=] { return x3().flatten(1); }},
      {"shape.flatten_0d", [] { return tensor(5.0).flatten(); }},
      {"shape.expand",
       [=] {
         return v3().unsqueeze(1).expand({3, 2});
       }},
      {"shape.expand_new_dims",
       [=] {
         return v3().expand({2, 2, 3});
       }},
      {"shape.expand_minus_one",
       [=] {
         return x().index({Slice(None, 1)}).expand({3, -1});
       }},
      {"shape.narrow", [=] { return x().narrow(1, 1, 2); }},
      {"shape.narrow_neg_start", [=] { return x().narrow(0, -2, 2); }},
      {"shape.select", [=] { return x3().select(1, -1); }},
      {"shape.cat0",
       [=] {
         return cat({x(), x().index({Slice(None, 1)}) * 10}, 0);
       }},
      {"shape.cat1",
       [=] {
         return cat({x(), v3().unsqueeze(1)}, 1);
       }},
      {"shape.cat_neg_dim",
       [=] {
         return cat({x3(), x3()}, -1);
       }},
      {"shape.cat_promote",
       [=] {
         return cat({in_xi()[0], v3(), tensor({true})});
       }},
      {"shape.cat_int_types",
       [] {
         return cat({tensor({1}, int8), tensor({300}, int16)});
       }},
      {"shape.cat_skips_empty_1d",
       [=] {
         return cat({x(), ones({0})}, 0);
       }},
      {"shape.cat_single", [=] { return cat({x()}, 1); }},
      {"shape.stack0",
       [=] {
         return stack({v3(), v3() * 2});
       }},
      {"shape.stack1",
       [=] {
         return stack({v3(), v3() * 2}, 1);
       }},
      {"shape.stack_last",
       [=] {
         return stack({x(), x()}, -1);
       }},
      {"shape.stack_promote",
       [=] {
         return stack({in_xi()[0], v3()});
       }},
      {"shape.stack_0d",
       [] {
         return stack({tensor(1), tensor(2)});
       }},
      {"shape.matmul_dot", [=] { return matmul(v3(), v3()); }},
      {"shape.matmul_mv", [=] { return matmul(x(), in_v4()); }},
      {"shape.matmul_vm", [=] { return matmul(v3(), x()); }},
      {"shape.matmul_mm", [=] { return matmul(x(), x().t()); }},
      {"shape.matmul_batched", [=] { return matmul(x3(), x().t()); }},
      {"shape.matmul_batched_vec", [=] { return matmul(x3(), in_v4()); }},
      {"shape.matmul_vec_batched", [=] { return matmul(v3(), x3()); }},
      {"shape.matmul_mat_batched",
       [=] {
         return matmul(x().index({Slice(None, 2), Slice(None, 3)}), x3());
       }},
      {"shape.matmul_broadcast", [=] { return matmul(x3().unsqueeze(1), x3().transpose(1, 2)); }},
      {"shape.matmul_broadcast_1",
       [=] { return matmul(x3().index({Slice(None, 1)}), x3().transpose(1, 2)); }},
      {"shape.matmul_int", [] { return matmul(in_xi(), in_xi()); }},
      {"shape.matmul_float64", [=] { return matmul(x().to(float64), in_v4().to(float64)); }},
      {"shape.matmul_empty_k",
       [] {
         return matmul(ones({2, 0}), ones({0, 3}));
       }},
      {"shape.matmul_transposed_batch", [=] { return matmul(x3().transpose(1, 2), x3()); }},
      {"shape.mm", [=] { return mm(x(), x3()[1].t()); }},
      {"shape.bmm", [=] { return bmm(x3(), x3().transpose(1, 2)); }},
      {"shape.operator_matmul_method", [=] { return x().t().matmul(x()); }},
      {"shape.contiguous_of_transpose", [=] { return x3().transpose(0, 1).contiguous(); }},
      {"shape.clone_of_expand",
       [=] {
         return v3().expand({2, 3}).clone();
       }},
  };
}

TEST(Shape, MatchTorch) { check_op_cases("shape.", shape_cases()); }

// Sizes, strides and storage offsets of views equal torch's (x = torch.arange(24.).reshape(2, 3,
// 4)).
TEST(Shape, ViewMetadataMatchesTorch) {
  const Tensor x = in_x3();
  EXPECT_EQ(x.strides(), (Shape{12, 4, 1}));
  // x.transpose(0, 2).stride() -> (1, 4, 12)
  EXPECT_EQ(x.transpose(0, 2).strides(), (Shape{1, 4, 12}));
  // x.permute(2, 0, 1).stride() -> (1, 12, 4)
  EXPECT_EQ(x.permute({2, 0, 1}).strides(), (Shape{1, 12, 4}));
  // x[1, :, 1::2] -> size (3, 2), stride (4, 2), storage_offset 13
  const Tensor s = x.index({1, Slice(), Slice(1, None, 2)});
  EXPECT_EQ(s.sizes(), (Shape{3, 2}));
  EXPECT_EQ(s.strides(), (Shape{4, 2}));
  EXPECT_EQ(s.storage_offset(), 13);
  EXPECT_FALSE(s.is_contiguous());
  // x.unsqueeze(1).stride() -> (12, 12, 4, 1); x.unsqueeze(3).stride() -> (12, 4, 1, 1)
  EXPECT_EQ(x.unsqueeze(1).strides(), (Shape{12, 12, 4, 1}));
  EXPECT_EQ(x.unsqueeze(3).strides(), (Shape{12, 4, 1, 1}));
  // x[:, :1].expand(2, 5, 4).stride() -> (12, 0, 1)
  EXPECT_EQ(x.index({Slice(), Slice(None, 1)}).expand({2, 5, 4}).strides(), (Shape{12, 0, 1}));
  // x.narrow(2, 1, 2): offset 1, stride (12, 4, 1)
  EXPECT_EQ(x.narrow(2, 1, 2).storage_offset(), 1);
  // x.transpose(1, 2).reshape(2, 12) must copy: contiguous strides
  EXPECT_EQ(x.transpose(1, 2).reshape({2, 12}).strides(), (Shape{12, 1}));
  // x.transpose(0, 1).reshape(3, 2, 2, 2) keeps a view: stride (4, 12, 2, 1)
  EXPECT_EQ(x.transpose(0, 1).reshape({3, 2, 2, 2}).strides(), (Shape{4, 12, 2, 1}));
  // x.select(2, 3) offset 3, stride (12, 4)
  EXPECT_EQ(x.select(2, 3).storage_offset(), 3);
  EXPECT_EQ(x.select(2, 3).strides(), (Shape{12, 4}));
  // Empty slices: x[:, 3:] has size (2, 0, 4)
  EXPECT_EQ(x.index({Slice(), Slice(3, None)}).sizes(), (Shape{2, 0, 4}));
  // is_contiguous treats size-1 dims as free: x[:, :1] is contiguous? torch -> False; x[:1] -> True
  EXPECT_FALSE(x.index({Slice(), Slice(None, 1)}).is_contiguous());
  EXPECT_TRUE(x.index({Slice(None, 1)}).is_contiguous());
  EXPECT_TRUE(x.index({Slice(), Slice(None, 1), Slice(None, 1)}).unsqueeze(0).squeeze(0).dim() ==
              3);
}

TEST(Shape, FreeFunctionsEqualMethods) {
  const Tensor x = in_x3();
  EXPECT_TRUE(equal(transpose(x, 0, 1), x.transpose(0, 1)));
  EXPECT_TRUE(equal(permute(x, {1, 2, 0}), x.permute({1, 2, 0})));
  EXPECT_TRUE(equal(reshape(x, {6, 4}), x.reshape({6, 4})));
  EXPECT_TRUE(equal(squeeze(ones({1, 2})), ones({2})));
  EXPECT_TRUE(equal(unsqueeze(x, 0), x.unsqueeze(0)));
  EXPECT_TRUE(equal(flatten(x, 0, 1), x.reshape({6, 4})));
  EXPECT_TRUE(equal(x.expand_as(ones({3, 2, 3, 4}))[2], x));
  EXPECT_TRUE(equal(in_x().mm(in_x().t()), mm(in_x(), in_x().t())));
}

TEST(Shape, MatmulResultShapesForEveryRankPair) {
  struct Case {
    Shape a, b, out;
  };
  // torch.matmul(torch.ones(a), torch.ones(b)).shape
  const Case cases[] = {
      {{3}, {3}, {}},
      {{2, 3}, {3}, {2}},
      {{3}, {3, 4}, {4}},
      {{2, 3}, {3, 4}, {2, 4}},
      {{5, 2, 3}, {3}, {5, 2}},
      {{3}, {5, 3, 4}, {5, 4}},
      {{5, 2, 3}, {3, 4}, {5, 2, 4}},
      {{2, 3}, {5, 3, 4}, {5, 2, 4}},
      {{5, 2, 3}, {5, 3, 4}, {5, 2, 4}},
      {{5, 1, 2, 3}, {6, 3, 4}, {5, 6, 2, 4}},
      {{1, 2, 3}, {7, 3, 4}, {7, 2, 4}},
      {{0, 2, 3}, {3, 4}, {0, 2, 4}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_to_string(c.a) + " @ " + shape_to_string(c.b));
    Tensor r = matmul(ones(c.a), ones(c.b));
    EXPECT_EQ(r.sizes(), c.out);
    EXPECT_TRUE(equal(r, full(c.out, 3.0)));
  }
}

TEST(Shape, CatAndStackOfDtypes) {
  // torch.cat([torch.ones(2, dtype=torch.uint8), torch.ones(1, dtype=torch.int8)]).dtype -> int16
  EXPECT_EQ(cat({ones({2}, uint8), ones({1}, int8)}).dtype(), int16);
  // float16 with bfloat16 -> float32; bool with bool -> bool
  EXPECT_EQ(cat({ones({2}, float16), ones({1}, bfloat16)}).dtype(), float32);
  EXPECT_EQ(stack({ones({2}, boolean), zeros({2}, boolean)}).dtype(), boolean);
  // 0-d tensors do not lose to dimensioned ones in cat: plain promote_types
  EXPECT_EQ(stack({tensor(1), tensor(1.5)}).dtype(), float32);
  // cat of views reads through their strides; the result is a new storage
  const Tensor x = in_x();
  Tensor c = cat({x.t(), x.t()}, 1);
  EXPECT_EQ(c.sizes(), (Shape{4, 6}));
  x.fill_(0);
  EXPECT_EQ(c[0].tolist<float>(), (std::vector<float>{1.5, 4.0, -3.5, 1.5, 4.0, -3.5}));
}

}  // namespace
}  // namespace kiln
