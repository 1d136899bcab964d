// Gradients of the ops that move elements, through the public API, against central
// differences: every view, slicing with steps, advanced indexing with integer tensors (repeated
// indices accumulate) and boolean masks, index_put_ and masked fills, cat and stack, and
// in-place ops through views. The harness (layouts, tolerance) is autograd_gradcheck_test.cpp's.
// At the end: minimal reproductions of the engine bugs these cases work around (skipped).
#include <functional>
#include <string>
#include <vector>

#include "frontend_test_util.h"

namespace kiln::gradcheck {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Defined in autograd_gradcheck_test.cpp: the case of `f` with inputs of `shapes` in the
// contiguous, strided (unless `strided` is false) and broadcast layouts.
void check_all_layouts(const std::string& name, const std::vector<Shape>& shapes, const Fn& f,
                       const std::vector<Shape>& broadcast, bool strided);

namespace {

using V = const std::vector<Tensor>&;

struct ViewSpec {
  std::string name;
  std::vector<Shape> shapes;
  Fn f;
  std::vector<Shape> broadcast = {};
  bool strided = true;
};

const Shape k34{3, 4};
const Shape k232{2, 3, 2};
const Shape k314{3, 1, 4};

Tensor ids(std::vector<int64_t> v, const Shape& shape) { return tensor(v).reshape(shape); }
Tensor ids(std::vector<int64_t> v) { return tensor(v); }
// A fixed mask of `shape` (row-major pattern), computed.
Tensor mask(const Shape& shape, std::vector<int> pattern) {
  std::vector<double> v(pattern.begin(), pattern.end());
  const Tensor m = tensor(v).reshape(shape) > 0;
  eval(m);
  return m;
}

std::vector<ViewSpec> view_specs() {
  return {
      {"reshape",
       {k34},
       [](V x) {
         return x[0].reshape({4, 3});
       }},
      {"reshape_flat", {k232}, [](V x) { return x[0].reshape({-1}); }},
      {"reshape_free",
       {k34},
       [](V x) {
         return kiln::reshape(x[0], {2, 2, 3});
       }},
      // view() refuses inputs whose dims it would have to merge across strides, so the
      // strided layout only gets splits (always viewable).
      {"view_merge",
       {k232},
       [](V x) {
         return x[0].view({6, 2});
       },
       {k232},
       false},
      {"view_split",
       {{2, 6}},
       [](V x) {
         return x[0].view({2, 3, 2});
       }},
      {"view_split_infer",
       {{2, 6}},
       [](V x) {
         return x[0].view({2, -1, 3});
       }},
      {"flatten", {k232}, [](V x) { return x[0].flatten(); }},
      {"flatten_from1", {k232}, [](V x) { return kiln::flatten(x[0], 1); }},
      {"flatten_0d", {{}}, [](V x) { return x[0].flatten() * 2; }},
      {"transpose", {k232}, [](V x) { return x[0].transpose(0, 2); }},
      {"transpose_free", {k34}, [](V x) { return kiln::transpose(x[0], -1, 0); }},
      {"t", {k34}, [](V x) { return x[0].t(); }},
      {"t_1d", {{4}}, [](V x) { return x[0].t(); }},
      {"permute",
       {k232},
       [](V x) {
         return x[0].permute({2, 0, 1});
       }},
      {"permute_free",
       {k232},
       [](V x) {
         return kiln::permute(x[0], {1, -1, 0});
       }},
      {"squeeze", {k314}, [](V x) { return x[0].squeeze(); }},
      {"squeeze_dim", {k314}, [](V x) { return x[0].squeeze(1); }},
      {"squeeze_free", {{1, 4}}, [](V x) { return kiln::squeeze(x[0]); }},
      {"unsqueeze", {k34}, [](V x) { return x[0].unsqueeze(0); }},
      {"unsqueeze_last", {k34}, [](V x) { return kiln::unsqueeze(x[0], -1); }},
      {"expand",
       {k314},
       [](V x) {
         return x[0].expand({2, 3, 2, 4});
       }},
      {"expand_keep",
       {k314},
       [](V x) {
         return x[0].expand({-1, 3, -1});
       }},
      {"expand_as", {{4}}, [](V x) { return x[0].expand_as(zeros(k34)); }},
      {"narrow", {k34}, [](V x) { return x[0].narrow(1, 1, 2); }},
      {"narrow_negative_start", {k34}, [](V x) { return x[0].narrow(0, -2, 2); }},
      {"select", {k232}, [](V x) { return x[0].select(1, 2); }},
      {"select_negative", {k34}, [](V x) { return x[0].select(-1, -3); }},
      {"subscript", {k34}, [](V x) { return x[0][-1]; }},
      {"subscript_twice", {k34}, [](V x) { return x[0][1][2]; }},
      {"slice_step", {k34}, [](V x) { return x[0].index({Slice(None, None, 2)}); }},
      {"slice_steps_2d",
       {k34},
       [](V x) {
         return x[0].index({Slice(1, None, 2), Slice(None, None, 3)});
       }},
      {"slice_negative_bounds",
       {k34},
       [](V x) {
         return x[0].index({Slice(-2), Slice(1, -1)});
       }},
      {"slice_empty", {k34}, [](V x) { return x[0].index({Slice(2, 1)}).sum() + x[0].sum(); }},
      {"index_none_ellipsis",
       {k232},
       [](V x) {
         return x[0].index({None, Ellipsis, 1});
       }},
      {"index_int_slice",
       {k34},
       [](V x) {
         return x[0].index({-1, Slice(1, 3)});
       }},
      {"index_ellipsis_step",
       {k232},
       [](V x) {
         return x[0].index({Ellipsis, Slice(0, 3, 2), 0});
       }},
      {"contiguous", {k34}, [](V x) { return x[0].contiguous(); }},
      {"clone", {k34}, [](V x) { return x[0].clone(); }},
      // Views of views, mixed with arithmetic.
      {"view_chain",
       {k34},
       [](V x) {
         return x[0].t().reshape({-1}).narrow(0, 2, 8).view({2, 4}).index({1}) * 3;
       }},
      {"views_of_one_input",
       {k34},
       [](V x) {
         return x[0].t().index({Slice(1, 3)}).reshape({-1}) * x[0].reshape({-1}).narrow(0, 0, 6);
       }},
  };
}

std::vector<ViewSpec> indexing_specs() {
  return {
      {"index_repeated",
       {k34},
       [](V x) {
         return x[0].index({ids({2, 0, 2, -1})});
       }},
      {"index_dim1_repeated",
       {k34},
       [](V x) {
         return x[0].index({Slice(), ids({3, 3, 0})});
       }},
      {"index_two_tensors",
       {k34},
       [](V x) {
         return x[0].index({ids({0, 2, 2, 2}), ids({1, 3, 1, 3})});
       }},
      {"index_broadcast_tensors",
       {k34},
       [](V x) {
         return x[0].index({ids({2, 0}, {2, 1}), ids({1, 3, 1})});
       }},
      {"index_2d_tensor",
       {k34},
       [](V x) {
         return x[0].index({ids({1, 1, 0, 2}, {2, 2})});
       }},
      {"index_separated_dims",
       {k232},
       [](V x) {
         return x[0].index({ids({1, 0, 1}), Slice(), ids({0, 1, 0})});
       }},
      {"index_after_slice",
       {k232},
       [](V x) {
         return x[0].index({Slice(1, None), ids({2, 0}), Slice(1)});
       }},
      {"index_0d_tensor", {k34}, [](V x) { return x[0].index({tensor(int64_t{2})}); }},
      {"index_int32_tensor",
       {k34},
       [](V x) {
         return x[0].index({tensor({1, 1}, int32)});
       }},
      {"mask",
       {k34},
       [](V x) {
         return x[0].index({mask(k34, {1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1})});
       }},
      {"mask_dim1",
       {k34},
       [](V x) {
         return x[0].index({Slice(), mask({4}, {0, 1, 1, 0})});
       }},
      {"mask_leading_2d",
       {k232},
       [](V x) {
         return x[0].index({mask({2, 3}, {1, 0, 1, 1, 0, 0})});
       }},
      {"mask_from_values", {k34}, [](V x) { return x[0].index({x[0] > 0.2}) * 2; }},
      // Writes into a copy: written places lose the gradient, written values get theirs. The
      // masks are computed before the copy is made: a mask still pending when index_put_
      // reads it (nonzero()) realizes the copy too, and an in-place op on a realized tensor
      // with history hits an engine bug (AutogradGradcheckEngine.InPlaceOpOnARealized...).
      {"index_put_tensor",
       {k34, {2, 4}},
       [](V x) {
         const Tensor y = x[0].clone();
         y.index_put_({ids({2, 0})}, x[1]);
         return y;
       }},
      {"index_put_broadcast_value",
       {k34, {4}},
       [](V x) {
         const Tensor y = x[0] * 1;
         y.index_put_({ids({1, 2}), Slice()}, x[1] * x[1]);
         return y;
       }},
      {"index_put_two_tensors",
       {k34, {3}},
       [](V x) {
         const Tensor y = x[0].clone();
         y.index_put_({ids({0, 1, 2}), ids({3, 0, 1})}, x[1]);
         return y * x[0];
       }},
      {"index_put_scalar",
       {k34},
       [](V x) {
         const Tensor y = x[0].exp();
         y.index_put_({Slice(), ids({1, 3})}, 0.5);
         return y;
       }},
      {"masked_fill",
       {k34},
       [](V x) {
         const Tensor m = mask(k34, {1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1});
         const Tensor y = x[0].clone();
         y.index_put_({m}, -2.0);
         return y;
       }},
      {"masked_fill_one_element_tensor",
       {k34, {1}},
       [](V x) {
         const Tensor m = x[0] > 0;
         eval(m);
         const Tensor y = x[0].clone();
         y.index_put_({m}, x[1]);
         return y;
       }},
      {"masked_assign_values",
       {k34, {5}},
       [](V x) {
         const Tensor m = mask(k34, {0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1});
         const Tensor y = x[0].clone();
         y.index_put_({m}, x[1]);
         return y;
       }},
      {"index_put_slice",
       {k34, {2, 4}},
       [](V x) {
         const Tensor y = x[0] * 2;
         y.index_put_({Slice(1, None)}, x[1]);
         return y;
       }},
  };
}

std::vector<ViewSpec> join_specs() {
  return {
      {"cat",
       {{2, 3}, {1, 3}},
       [](V x) {
         return cat({x[0], x[1]});
       }},
      {"cat_dim1_three",
       {{2, 1}, {2, 2}, {2, 3}},
       [](V x) {
         return cat({x[0], x[1], x[2]}, 1);
       }},
      {"cat_negative_dim",
       {k232, {2, 3, 1}},
       [](V x) {
         return cat({x[0], x[1]}, -1);
       }},
      {"cat_same_tensor",
       {k34},
       [](V x) {
         return cat({x[0], x[0] * 2, x[0]});
       }},
      {"cat_single", {k34}, [](V x) { return cat({x[0]}, 1); }},
      {"stack",
       {k34, k34},
       [](V x) {
         return stack({x[0], x[1]});
       }},
      {"stack_last",
       {k34, k34},
       [](V x) {
         return stack({x[0], x[1].exp()}, -1);
       }},
      {"stack_1d",
       {{4}, {4}, {4}},
       [](V x) {
         return stack({x[0], x[1], x[2]}, 1);
       }},
  };
}

// In-place ops on tensors with history and on their views (leaves may not be written).
std::vector<ViewSpec> inplace_specs() {
  return {
      {"inplace_arithmetic",
       {k34, k34},
       [](V x) {
         const Tensor y = x[0] * x[1];
         y.mul_(x[0]);
         y.add_(x[1]);
         y.sub_(2.0);
         y.div_(x[1] * x[1] + 1);
         return y;
       },
       {{3, 1}, {4}}},
      {"inplace_operators",
       {k34},
       [](V x) {
         const Tensor y = x[0].exp();
         y *= 2;
         y += x[0];
         y -= x[0] * x[0];
         y /= 3;
         y.neg_();
         return y;
       }},
      {"inplace_pow",
       {k34, k34},
       [](V x) {
         const Tensor y = (x[0] * x[1]).exp();
         y.pow_(x[1]);
         return y;
       },
       {{4}, {3, 1}}},
      {"inplace_on_a_view",
       {k34, {3, 2}},
       [](V x) {
         const Tensor y = x[0] * 1;
         y.index({Slice(), Slice(1, None, 2)}).mul_(x[1]);
         return y;
       }},
      {"inplace_on_a_view_read_through_another",
       {k34},
       [](V x) {
         const Tensor y = x[0] * 1;
         const Tensor row = y[1];
         y.t().index({2}).mul_(x[0].index({Slice(), 0}));  // column 2 of y
         return row * 2 + y.sum(0);
       }},
      {"copy_into_a_view",
       {k34, {4}},
       [](V x) {
         const Tensor y = x[0].sin();
         y.select(0, 1).copy_(x[1]);
         return y;
       }},
      {"copy_broadcast",
       {k34, {4}},
       [](V x) {
         const Tensor y = x[0] * 1;
         y.copy_(x[1]);
         return y * x[0];
       }},
      {"fill_and_zero",
       {k34},
       [](V x) {
         const Tensor y = x[0] * x[0];
         y.index({0}).fill_(1.5);
         y.index({Slice(), 3}).zero_();
         return y;
       }},
  };
}

class AutogradGradcheckViews : public ::testing::TestWithParam<ViewSpec> {};
TEST_P(AutogradGradcheckViews, MatchesCentralDifferences) {
  const ViewSpec& s = GetParam();
  check_all_layouts(s.name, s.shapes, s.f, s.broadcast, s.strided);
}

std::string spec_name(const ::testing::TestParamInfo<ViewSpec>& info) { return info.param.name; }
void PrintTo(const ViewSpec& s, std::ostream* os) { *os << s.name; }

INSTANTIATE_TEST_SUITE_P(Views, AutogradGradcheckViews, ::testing::ValuesIn(view_specs()),
                         spec_name);
INSTANTIATE_TEST_SUITE_P(Indexing, AutogradGradcheckViews, ::testing::ValuesIn(indexing_specs()),
                         spec_name);
INSTANTIATE_TEST_SUITE_P(Join, AutogradGradcheckViews, ::testing::ValuesIn(join_specs()),
                         spec_name);
INSTANTIATE_TEST_SUITE_P(InPlace, AutogradGradcheckViews, ::testing::ValuesIn(inplace_specs()),
                         spec_name);

// ---- Engine regressions (frontend/autograd/record.cpp, engine.cpp, tensor_impl.cpp): minimal
// reproductions of bugs found by this suite, fixed. ----

TEST(AutogradEngineRegressions, InPlaceOpOnARealizedTensorWithHistory) {
  // Once a tensor with history is realized (printed, item(), eval, or any realization that
  // computes every pending storage, e.g. nonzero() of a boolean mask), an in-place op writes
  // its buffer eagerly; the op's own history must keep the value it read (y.mul_(x) needs the
  // old y for x's gradient), and must not see its own write as a modification.
  const Tensor x = tensor({1.0, -2.0, 3.0}, float64).requires_grad_();
  const Tensor y = x * 2;
  eval(y);
  y.mul_(x);
  y.sum().backward();
  EXPECT_THAT(x.grad().tolist<double>(), ::testing::ElementsAre(4, -8, 12));  // 4x
  const Tensor z = x.clone();
  z.index_put_({x > 0}, 0.0);
  (z * 3).sum().backward();
  EXPECT_THAT(x.grad().tolist<double>(), ::testing::ElementsAre(4, -5, 12));
}

TEST(AutogradEngineRegressions, GradWithRespectToAViewUsedThroughAViewOfIt) {
  // A view of a view passes its gradient through the inner view's own GradFn, so kiln::grad
  // with respect to the inner view and its retain_grad() see it (PyTorch: both give 3s).
  const Tensor leaf = tensor({1.0, 2.0, 3.0, 4.0}, float64).requires_grad_();
  const Tensor x = leaf.index({Slice(0, None, 2)});
  EXPECT_THAT(grad({(x.unsqueeze(0) * 3).sum()}, {x})[0].tolist<double>(),
              ::testing::ElementsAre(3, 3));
  x.retain_grad();
  (x.unsqueeze(0) * 3).sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_THAT(x.grad().tolist<double>(), ::testing::ElementsAre(3, 3));
}

}  // namespace
}  // namespace kiln::gradcheck
