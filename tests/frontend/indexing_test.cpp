// Indexing and index_put_ against PyTorch: every "index." and "put." row of op_cases.inc
// (make_op_cases.py holds the torch expression of each name; put.* rows are x[...] = value).
#include "op_cases.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT: the inputs in_x() ...

Tensor put(const Tensor& t, std::initializer_list<TensorIndex> index, const Tensor& value) {
  Tensor c = t.clone();
  c.index_put_(index, value);
  return c;
}
Tensor put(const Tensor& t, std::initializer_list<TensorIndex> index, Scalar value) {
  Tensor c = t.clone();
  c.index_put_(index, value);
  return c;
}

CaseTable indexing_cases() {
  const auto x = [] { return in_x(); };
  const auto x3 = [] { return in_x3(); };
  return {
      {"index.int", [=] { return x3()[1]; }},
      {"index.neg_int",
       [=] {
         return x3().index({-1, -2});
       }},
      {"index.slice",
       [=] {
         return x3().index({Slice(), Slice(1, None)});
       }},
      {"index.slice_step",
       [=] {
         return x3().index({Ellipsis, Slice(None, None, 3)});
       }},
      {"index.slice_neg_bounds",
       [=] {
         return x().index({Slice(-2, None), Slice(None, -1)});
       }},
      {"index.slice_out_of_range", [=] { return x().index({Slice(5, 10)}); }},
      {"index.slice_stop_before_start", [=] { return x().index({Slice(2, 1)}); }},
      {"index.slice_big_step",
       [=] {
         return x().index({Slice(), Slice(1, None, 10)});
       }},
      {"index.none", [=] { return x().index({None}); }},
      {"index.none_middle",
       [=] {
         return x().index({Slice(), None, 1});
       }},
      {"index.none_twice",
       [=] {
         return x().index({None, Ellipsis, None});
       }},
      {"index.ellipsis",
       [=] {
         return x3().index({Ellipsis, 1});
       }},
      {"index.ellipsis_middle",
       [=] {
         return x3().index({0, Ellipsis, 2});
       }},
      {"index.ellipsis_none",
       [=] {
         return x3().index({Ellipsis, None});
       }},
      {"index.ellipsis_all", [=] { return x().index({Ellipsis}); }},
      {"index.int_tensor",
       [=] {
         return x().index({tensor({2, 0, 2})});
       }},
      {"index.int_tensor_neg",
       [=] {
         return x().index({tensor({-1, 0})});
       }},
      {"index.int_tensor_2d",
       [=] {
         return x().index({tensor({{0, 1}, {2, 2}})});
       }},
      {"index.int_tensor_0d", [=] { return x().index({tensor(1)}); }},
      {"index.two_tensors",
       [=] {
         return x().index({tensor({0, 2}), tensor({1, 3})});
       }},
      {"index.broadcast_tensors",
       [=] {
         return x().index({tensor({{0}, {2}}), tensor({1, 3})});
       }},
      {"index.tensor_and_slice",
       [=] {
         return x().index({tensor({0, 2}), Slice(1, 3)});
       }},
      {"index.slice_and_tensor",
       [=] {
         return x3().index({Slice(), tensor({0, 2})});
       }},
      {"index.adjacent_after_slice",
       [=] {
         return x3().index({Slice(), tensor({0, 2}), tensor({1, 3})});
       }},
      {"index.non_adjacent",
       [=] {
         return x3().index({tensor({0, 1}), Slice(), tensor({1, 3})});
       }},
      {"index.non_adjacent_2d",
       [=] {
         return x3().index({tensor({{0}, {1}}), Slice(), tensor({1, 3})});
       }},
      {"index.int_then_tensor",
       [=] {
         return x3().index({1, Slice(), tensor({0, 3})});
       }},
      {"index.tensor_none_tensor",
       [=] {
         return x3().index({tensor({0, 1}), None, tensor({0, 2})});
       }},
      {"index.bool_mask", [=] { return x().index({x() > 2}); }},
      {"index.bool_mask_rows",
       [=] {
         return x().index({tensor({true, false, true})});
       }},
      {"index.bool_mask_2d_of_3d",
       [=] {
         return x3().index({tensor({{true, false, true}, {false, true, false}})});
       }},
      {"index.bool_mask_after_slice",
       [=] {
         return x3().index({Slice(), tensor({false, true, true})});
       }},
      {"index.bool_true_scalar", [=] { return x().index({tensor(true)}); }},
      {"index.bool_false_scalar", [=] { return x().index({tensor(false)}); }},
      {"index.mask_and_tensor",
       [=] {
         return x3().index({tensor({false, true}), tensor({0, 2})});
       }},
      {"index.uint8_mask",
       [=] {
         return x().index({tensor({1, 0, 1}, uint8)});
       }},
      {"index.empty_index_tensor", [=] { return x().index({zeros({0}, int64)}); }},
      {"index.of_transposed",
       [=] {
         return x().t().index({tensor({0, 3})});
       }},
      {"index.strided_index_tensor",
       [=] {
         return x().index({tensor({0, 1, 2, 0}).index({Slice(None, None, 2)})});
       }},
      {"index.int_tensor_int64_values",
       [] {
         return in_xi().index({tensor({2, 1}), tensor({0, 2})});
       }},
      {"index.bool_values",
       [] {
         return in_xb().index({Slice(), tensor({2, 0})});
       }},
      {"index.nonzero", [=] { return x().nonzero(); }},
      {"index.nonzero_bool", [] { return in_xb().nonzero(); }},
      {"index.nonzero_empty",
       [] {
         return zeros({2, 2}).nonzero();
       }},
      {"put.int", [=] { return put(x(), {1}, 0.0); }},
      {"put.slice_tensor",
       [=] {
         return put(x(), {Slice(), Slice(1, 3)}, tensor({{1.0, 2.0}}));
       }},
      {"put.slice_step",
       [=] {
         return put(x(), {Slice(None, None, 2), Slice(None, None, 3)}, -1.0);
       }},
      {"put.ellipsis",
       [=] {
         return put(x3(), {Ellipsis, 0}, tensor({9.0, 8.0, 7.0}));
       }},
      {"put.none",
       [=] {
         return put(x(), {None, 0}, 5.0);
       }},
      {"put.int_tensor",
       [=] {
         return put(x(), {tensor({0, 2})}, tensor({1.0, 2.0, 3.0, 4.0}));
       }},
      {"put.two_tensors",
       [=] {
         return put(x(), {tensor({0, 2}), tensor({1, 3})}, tensor({10.0, 20.0}));
       }},
      {"put.broadcast_tensors",
       [=] {
         return put(x(), {tensor({{0}, {2}}), tensor({1, 3})}, 7.0);
       }},
      {"put.non_adjacent",
       [=] {
         return put(x3(), {tensor({0, 1}), Slice(), tensor({1, 3})},
                    tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}));
       }},
      {"put.bool_mask_scalar", [=] { return put(x(), {x() > 2}, 0.0); }},
      {"put.bool_mask_tensor",
       [=] {
         return put(x(), {x() < 0}, tensor({-1.0, -2.0, -3.0}));
       }},
      {"put.bool_rows",
       [=] {
         return put(x(), {tensor({true, false, true})}, tensor({1.0, 2.0, 3.0, 4.0}));
       }},
      {"put.mask_one_element_value_casts", [] { return put(in_xi(), {in_xi() > 0}, tensor(2.5)); }},
      {"put.neg_index_tensor", [=] { return put(x(), {tensor({-1})}, 0.0); }},
      {"put.value_leading_ones",
       [=] {
         return put(x(), {0}, ones({1, 1, 4}) * 3);
       }},
      {"put.int_scalar_into_int",
       [] {
         return put(in_xi(), {tensor({0}), tensor({1})}, 100);
       }},
      {"put.float_into_int_basic",
       [] {
         return put(in_xi(), {0}, tensor({1.7, 2.2, -3.9}));
       }},
      {"put.float_scalar_into_int_tensor_index", [] { return put(in_xi(), {tensor({1})}, 2.9); }},
      {"put.into_transposed_view",
       [=] { return inplace(x(), [](auto& t) {
               t.t().index_put_({tensor({1, 3})}, 0.0);
             }); }},
      {"put.value_dtype_mismatch",
       [=] {
         return put(x(), {tensor({0})}, tensor({1, 2, 3, 4}));
       }},
  };
}

TEST(Indexing, MatchTorch) {
  check_op_cases("index.", indexing_cases());
  check_op_cases("put.", indexing_cases());
}

TEST(Indexing, BasicIndexingIsAViewAdvancedIsACopy) {
  const Tensor x = in_x();
  Tensor basic = x.index({Slice(1, None), 2});
  Tensor advanced = x.index({tensor({1, 2}), 2});
  x.fill_(0);
  EXPECT_EQ(values(basic), (std::vector<double>{0, 0}));
  EXPECT_EQ(values(advanced), (std::vector<double>{-1, 2}));
  // Subscript selects along dim 0 and is a view.
  Tensor row = x[1];
  row.fill_(3);
  EXPECT_EQ(values(x[1]), (std::vector<double>(4, 3.0)));
  EXPECT_EQ(x[-1].sizes(), (Shape{4}));
}

TEST(Indexing, SliceDefaultsAndNegativeSteps) {
  const Tensor v = arange(10);
  EXPECT_EQ(v.index({Slice()}).tolist<int64_t>(), v.tolist<int64_t>());
  EXPECT_EQ(v.index({Slice(None, None, 3)}).tolist<int64_t>(), (std::vector<int64_t>{0, 3, 6, 9}));
  EXPECT_EQ(v.index({Slice(-3)}).tolist<int64_t>(), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(v.index({Slice(-100, 2)}).tolist<int64_t>(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(v.index({Slice(8, 100, 5)}).tolist<int64_t>(), (std::vector<int64_t>{8}));
  EXPECT_EQ(v.index({Slice(None, -8)}).tolist<int64_t>(), (std::vector<int64_t>{0, 1}));
}

TEST(Indexing, IndexPutAccumulatesNothingAndReturnsSelf) {
  Tensor t = zeros({3});
  const Tensor& same = t.index_put_({tensor({0, 2})}, 1.0);
  EXPECT_EQ(same.impl(), t.impl());
  // Repeated identical indices write once (no accumulation): t[[1, 1]] = 5
  t.index_put_({tensor({1, 1})}, 5.0);
  EXPECT_EQ(values(t), (std::vector<double>{1, 5, 1}));
}

TEST(Indexing, IndexTensorsOfAnyIntegerDtypeSelectTheSame) {
  // torch 1.13 refuses int32 index tensors; newer PyTorch accepts them, and so does kiln.
  const Tensor x = in_x();
  for (DType d : {int8, int16, int32, int64}) {
    SCOPED_TRACE(name(d));
    EXPECT_TRUE(equal(x.index({tensor({2, 0}, d)}), x.index({tensor({2, 0})})));
  }
}

}  // namespace
}  // namespace kiln
