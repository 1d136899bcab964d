// Shape and dtype inference, one table per op family: valid cases with their result types and
// invalid ones that must be errors (never crashes, never silently wrong types).
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/ir/infer.h"

namespace kiln::ir {
namespace {

TensorType T(DType dtype, Shape shape = {}) { return TensorType{dtype, std::move(shape)}; }

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct InferCase {
  std::string name;
  Op op;
  std::vector<TensorType> inputs;
  Attrs attrs;
  std::optional<TensorType> expected;  // nullopt: inference must fail
};

void PrintTo(const InferCase& c, std::ostream* os) { *os << c.name; }

class Infer : public ::testing::TestWithParam<InferCase> {};

TEST_P(Infer, ResultTypeOrError) {
  const InferCase& c = GetParam();
  auto got = infer_type(c.op, c.attrs, c.inputs);
  if (c.expected) {
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(to_string(*got), to_string(*c.expected));
  } else {
    ASSERT_FALSE(got.ok()) << "inferred " << to_string(*got);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    // Errors start with the op's name so callers can point at the offending op.
    EXPECT_EQ(std::string(got.status().message()).rfind(std::string(op_name(c.op)) + ":", 0), 0u)
        << got.status();
  }
}

std::string CaseName(const ::testing::TestParamInfo<InferCase>& info) { return info.param.name; }

const TensorType f23 = T(float32, {2, 3});

INSTANTIATE_TEST_SUITE_P(
    Elementwise, Infer,
    ::testing::Values(
        InferCase{"neg_keeps_type", Op::neg, {f23}, NoAttrs{}, f23},
        InferCase{"neg_int", Op::neg, {T(int64, {4})}, NoAttrs{}, T(int64, {4})},
        InferCase{"exp_0d", Op::exp, {T(float64)}, NoAttrs{}, T(float64)},
        InferCase{"sqrt_rejects_int", Op::sqrt, {T(int32, {2})}, NoAttrs{}, std::nullopt},
        InferCase{"sigmoid_rejects_bool", Op::sigmoid, {T(boolean, {2})}, NoAttrs{}, std::nullopt},
        InferCase{"logical_not_gives_bool", Op::logical_not, {f23}, NoAttrs{}, T(boolean, {2, 3})},
        InferCase{"cast_to_attr_dtype", Op::cast, {f23}, CastAttrs{int8}, T(int8, {2, 3})},
        InferCase{"cast_needs_cast_attrs", Op::cast, {f23}, NoAttrs{}, std::nullopt},
        InferCase{"unary_arity", Op::neg, {f23, f23}, NoAttrs{}, std::nullopt},
        InferCase{"unary_no_operand", Op::abs, {}, NoAttrs{}, std::nullopt},
        InferCase{"add_equal_types", Op::add, {f23, f23}, NoAttrs{}, f23},
        InferCase{
            "add_mismatched_shapes", Op::add, {f23, T(float32, {3, 2})}, NoAttrs{}, std::nullopt},
        InferCase{
            "add_no_broadcasting", Op::add, {f23, T(float32, {1, 3})}, NoAttrs{}, std::nullopt},
        InferCase{
            "add_mismatched_dtypes", Op::add, {f23, T(float64, {2, 3})}, NoAttrs{}, std::nullopt},
        InferCase{"add_arity", Op::add, {f23}, NoAttrs{}, std::nullopt},
        InferCase{"pow_int", Op::pow, {T(int32, {3}), T(int32, {3})}, NoAttrs{}, T(int32, {3})},
        InferCase{"lt_gives_bool", Op::lt, {f23, f23}, NoAttrs{}, T(boolean, {2, 3})},
        InferCase{"eq_mismatched_dtypes", Op::eq, {T(int64), T(int32)}, NoAttrs{}, std::nullopt},
        InferCase{"logical_and_any_dtypes",
                  Op::logical_and,
                  {T(float32, {2}), T(int64, {2})},
                  NoAttrs{},
                  T(boolean, {2})},
        InferCase{"logical_or_mismatched_shapes",
                  Op::logical_or,
                  {T(boolean, {2}), T(boolean, {3})},
                  NoAttrs{},
                  std::nullopt},
        InferCase{"add_wrong_attrs", Op::add, {f23, f23}, AxisAttrs{0}, std::nullopt},
        InferCase{"where_selects", Op::where, {T(boolean, {2, 3}), f23, f23}, NoAttrs{}, f23},
        InferCase{"where_cond_not_bool", Op::where, {f23, f23, f23}, NoAttrs{}, std::nullopt},
        InferCase{"where_branch_dtypes",
                  Op::where,
                  {T(boolean, {2, 3}), f23, T(float64, {2, 3})},
                  NoAttrs{},
                  std::nullopt},
        InferCase{
            "where_shapes", Op::where, {T(boolean, {2, 1}), f23, f23}, NoAttrs{}, std::nullopt},
        InferCase{"where_arity", Op::where, {T(boolean, {2, 3}), f23}, NoAttrs{}, std::nullopt},
        InferCase{"leaf_input", Op::input, {}, InputAttrs{0}, std::nullopt},
        InferCase{"leaf_constant", Op::constant, {}, ConstantAttrs{1}, std::nullopt}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    Reductions, Infer,
    ::testing::Values(
        InferCase{"sum_one_axis", Op::sum, {f23}, ReduceAttrs{{1}, false}, T(float32, {2})},
        InferCase{"sum_keepdim", Op::sum, {f23}, ReduceAttrs{{1}, true}, T(float32, {2, 1})},
        InferCase{"prod_all_axes", Op::prod, {f23}, ReduceAttrs{{0, 1}, false}, T(float32)},
        InferCase{
            "amax_all_keepdim", Op::amax, {f23}, ReduceAttrs{{0, 1}, true}, T(float32, {1, 1})},
        InferCase{"amin_no_axes_is_identity", Op::amin, {f23}, ReduceAttrs{{}, false}, f23},
        InferCase{"sum_0d_axis_0", Op::sum, {T(float32)}, ReduceAttrs{{0}, true}, T(float32)},
        InferCase{
            "sum_int_keeps_dtype", Op::sum, {T(int32, {4})}, ReduceAttrs{{0}, false}, T(int32)},
        InferCase{"argmax_gives_int64", Op::argmax, {f23}, ReduceAttrs{{0}, false}, T(int64, {3})},
        InferCase{"argmin_keepdim", Op::argmin, {f23}, ReduceAttrs{{1}, true}, T(int64, {2, 1})},
        InferCase{"argmax_two_axes", Op::argmax, {f23}, ReduceAttrs{{0, 1}, false}, std::nullopt},
        InferCase{"argmin_no_axis", Op::argmin, {f23}, ReduceAttrs{{}, false}, std::nullopt},
        InferCase{"axis_out_of_range", Op::sum, {f23}, ReduceAttrs{{2}, false}, std::nullopt},
        InferCase{"negative_axis", Op::sum, {f23}, ReduceAttrs{{-1}, false}, std::nullopt},
        InferCase{"unsorted_axes", Op::sum, {f23}, ReduceAttrs{{1, 0}, false}, std::nullopt},
        InferCase{"duplicate_axes", Op::sum, {f23}, ReduceAttrs{{1, 1}, false}, std::nullopt},
        InferCase{"0d_axis_1", Op::sum, {T(float32)}, ReduceAttrs{{1}, false}, std::nullopt},
        InferCase{"reduce_wrong_attrs", Op::sum, {f23}, AxisAttrs{0}, std::nullopt}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    Movement, Infer,
    ::testing::Values(
        InferCase{"reshape", Op::reshape, {f23}, ShapeAttrs{{3, 2}}, T(float32, {3, 2})},
        InferCase{"reshape_to_0d", Op::reshape, {T(int8, {1, 1})}, ShapeAttrs{{}}, T(int8)},
        InferCase{"reshape_empty",
                  Op::reshape,
                  {T(float32, {0, 3})},
                  ShapeAttrs{{3, 0, 7}},
                  T(float32, {3, 0, 7})},
        InferCase{"reshape_numel_differs", Op::reshape, {f23}, ShapeAttrs{{4}}, std::nullopt},
        InferCase{"reshape_negative", Op::reshape, {f23}, ShapeAttrs{{-1, 6}}, std::nullopt},
        InferCase{
            "reshape_overflow", Op::reshape, {f23}, ShapeAttrs{{kMax, kMax, 0}}, std::nullopt},
        InferCase{"permute",
                  Op::permute,
                  {T(float32, {2, 3, 4})},
                  PermuteAttrs{{2, 0, 1}},
                  T(float32, {4, 2, 3})},
        InferCase{"permute_repeated", Op::permute, {f23}, PermuteAttrs{{0, 0}}, std::nullopt},
        InferCase{"permute_wrong_rank", Op::permute, {f23}, PermuteAttrs{{0}}, std::nullopt},
        InferCase{"permute_out_of_range", Op::permute, {f23}, PermuteAttrs{{0, 2}}, std::nullopt},
        InferCase{"permute_negative", Op::permute, {f23}, PermuteAttrs{{-1, 0}}, std::nullopt},
        InferCase{
            "expand", Op::expand, {T(float32, {1, 3})}, ShapeAttrs{{4, 3}}, T(float32, {4, 3})},
        InferCase{"expand_to_zero",
                  Op::expand,
                  {T(float32, {1, 3})},
                  ShapeAttrs{{0, 3}},
                  T(float32, {0, 3})},
        InferCase{"expand_non_one", Op::expand, {f23}, ShapeAttrs{{4, 3}}, std::nullopt},
        InferCase{"expand_rank", Op::expand, {f23}, ShapeAttrs{{1, 2, 3}}, std::nullopt},
        InferCase{
            "expand_negative", Op::expand, {T(float32, {1, 3})}, ShapeAttrs{{-1, 3}}, std::nullopt},
        InferCase{"slice_step",
                  Op::slice,
                  {T(float32, {2, 7})},
                  SliceAttrs{1, 1, 6, 2},
                  T(float32, {2, 3})},
        InferCase{"slice_empty", Op::slice, {f23}, SliceAttrs{0, 1, 1, 1}, T(float32, {0, 3})},
        InferCase{
            "slice_huge_step", Op::slice, {f23}, SliceAttrs{1, 0, 3, kMax}, T(float32, {2, 1})},
        InferCase{"slice_start_after_stop", Op::slice, {f23}, SliceAttrs{1, 2, 1, 1}, std::nullopt},
        InferCase{"slice_stop_past_end", Op::slice, {f23}, SliceAttrs{1, 0, 4, 1}, std::nullopt},
        InferCase{"slice_negative_start", Op::slice, {f23}, SliceAttrs{1, -1, 2, 1}, std::nullopt},
        InferCase{"slice_zero_step", Op::slice, {f23}, SliceAttrs{1, 0, 2, 0}, std::nullopt},
        InferCase{"slice_bad_dim", Op::slice, {f23}, SliceAttrs{2, 0, 1, 1}, std::nullopt},
        InferCase{"slice_0d", Op::slice, {T(float32)}, SliceAttrs{0, 0, 0, 1}, std::nullopt},
        InferCase{"as_strided",
                  Op::as_strided,
                  {f23},
                  StridedAttrs{{2, 2}, {3, 1}, 1},
                  T(float32, {2, 2})},
        InferCase{"as_strided_last_element",
                  Op::as_strided,
                  {f23},
                  StridedAttrs{{2}, {5}, 0},
                  T(float32, {2})},
        InferCase{"as_strided_empty_window",
                  Op::as_strided,
                  {f23},
                  StridedAttrs{{0, 5}, {kMax, kMax}, 100},
                  T(float32, {0, 5})},
        InferCase{"as_strided_past_end",
                  Op::as_strided,
                  {f23},
                  StridedAttrs{{2, 2}, {3, 1}, 2},
                  std::nullopt},
        InferCase{"as_strided_negative_stride",
                  Op::as_strided,
                  {f23},
                  StridedAttrs{{2}, {-1}, 1},
                  std::nullopt},
        InferCase{"as_strided_negative_offset",
                  Op::as_strided,
                  {f23},
                  StridedAttrs{{1}, {1}, -1},
                  std::nullopt},
        InferCase{"as_strided_negative_size_after_zero",
                  Op::as_strided,
                  {f23},
                  StridedAttrs{{0, -1}, {1, 1}, 0},
                  std::nullopt},
        InferCase{"as_strided_rank_mismatch",
                  Op::as_strided,
                  {f23},
                  StridedAttrs{{2, 2}, {1}, 0},
                  std::nullopt},
        InferCase{"as_strided_overflow",
                  Op::as_strided,
                  {f23},
                  StridedAttrs{{3, 3}, {kMax / 2, kMax / 2}, 0},
                  std::nullopt},
        InferCase{"cat", Op::cat, {f23, T(float32, {4, 3})}, AxisAttrs{0}, T(float32, {6, 3})},
        InferCase{"cat_one", Op::cat, {f23}, AxisAttrs{1}, f23},
        InferCase{
            "cat_dim1", Op::cat, {f23, T(float32, {2, 1}), f23}, AxisAttrs{1}, T(float32, {2, 7})},
        InferCase{"cat_other_dim_differs",
                  Op::cat,
                  {f23, T(float32, {4, 3})},
                  AxisAttrs{1},
                  std::nullopt},
        InferCase{"cat_dtype", Op::cat, {f23, T(float64, {2, 3})}, AxisAttrs{0}, std::nullopt},
        InferCase{"cat_rank", Op::cat, {f23, T(float32, {2, 3, 1})}, AxisAttrs{0}, std::nullopt},
        InferCase{"cat_bad_dim", Op::cat, {f23, f23}, AxisAttrs{2}, std::nullopt},
        InferCase{"cat_no_operands", Op::cat, {}, AxisAttrs{0}, std::nullopt},
        InferCase{"cat_overflow",
                  Op::cat,
                  {T(float32, {kMax}), T(float32, {kMax})},
                  AxisAttrs{0},
                  std::nullopt}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    IndexingAndMatmul, Infer,
    ::testing::Values(
        InferCase{"as_strided_scatter",
                  Op::as_strided_scatter,
                  {f23, T(float32, {2, 2})},
                  StridedAttrs{{2, 2}, {3, 1}, 1},
                  f23},
        InferCase{"as_strided_scatter_src_shape",
                  Op::as_strided_scatter,
                  {f23, T(float32, {2, 3})},
                  StridedAttrs{{2, 2}, {3, 1}, 1},
                  std::nullopt},
        InferCase{"as_strided_scatter_dtype",
                  Op::as_strided_scatter,
                  {f23, T(float64, {2, 2})},
                  StridedAttrs{{2, 2}, {3, 1}, 1},
                  std::nullopt},
        InferCase{"as_strided_scatter_outside",
                  Op::as_strided_scatter,
                  {f23, T(float32, {2, 2})},
                  StridedAttrs{{2, 2}, {3, 2}, 1},
                  std::nullopt},
        InferCase{"index_dim0",
                  Op::index,
                  {T(float32, {4, 3}), T(int64, {5})},
                  AxisAttrs{0},
                  T(float32, {5, 3})},
        InferCase{"index_dim1",
                  Op::index,
                  {T(float32, {4, 3}), T(int64, {2, 5})},
                  AxisAttrs{1},
                  T(float32, {4, 2, 5})},
        InferCase{"index_two_tensors",
                  Op::index,
                  {T(float32, {4, 3, 2}), T(int64, {6}), T(int64, {6})},
                  AxisAttrs{0},
                  T(float32, {6, 2})},
        InferCase{"index_int32_index",
                  Op::index,
                  {T(float32, {4, 3}), T(int32, {5})},
                  AxisAttrs{0},
                  std::nullopt},
        InferCase{"index_shapes_differ",
                  Op::index,
                  {T(float32, {4, 3}), T(int64, {5}), T(int64, {4})},
                  AxisAttrs{0},
                  std::nullopt},
        InferCase{"index_too_many",
                  Op::index,
                  {T(float32, {4, 3}), T(int64, {5}), T(int64, {5})},
                  AxisAttrs{1},
                  std::nullopt},
        InferCase{"index_bad_dim",
                  Op::index,
                  {T(float32, {4, 3}), T(int64, {5})},
                  AxisAttrs{2},
                  std::nullopt},
        InferCase{"index_huge_dim",
                  Op::index,
                  {T(float32, {4, 3}), T(int64, {5})},
                  AxisAttrs{kMax},
                  std::nullopt},
        InferCase{
            "index_without_index", Op::index, {T(float32, {4, 3})}, AxisAttrs{0}, std::nullopt},
        InferCase{"index_put",
                  Op::index_put,
                  {T(float32, {4, 3}), T(float32, {5, 3}), T(int64, {5})},
                  IndexPutAttrs{0, true},
                  T(float32, {4, 3})},
        InferCase{"index_put_dim1",
                  Op::index_put,
                  {T(float32, {4, 3}), T(float32, {4, 2}), T(int64, {2})},
                  IndexPutAttrs{1, false},
                  T(float32, {4, 3})},
        InferCase{"index_put_values_shape",
                  Op::index_put,
                  {T(float32, {4, 3}), T(float32, {5}), T(int64, {5})},
                  IndexPutAttrs{0, false},
                  std::nullopt},
        InferCase{"index_put_values_dtype",
                  Op::index_put,
                  {T(float32, {4, 3}), T(float64, {5, 3}), T(int64, {5})},
                  IndexPutAttrs{0, false},
                  std::nullopt},
        InferCase{"index_put_index_dtype",
                  Op::index_put,
                  {T(float32, {4, 3}), T(float32, {5, 3}), T(uint8, {5})},
                  IndexPutAttrs{0, false},
                  std::nullopt},
        InferCase{"index_put_no_index",
                  Op::index_put,
                  {T(float32, {4, 3}), T(float32, {4, 3})},
                  IndexPutAttrs{0, false},
                  std::nullopt},
        InferCase{"index_put_wrong_attrs",
                  Op::index_put,
                  {T(float32, {4, 3}), T(float32, {5, 3}), T(int64, {5})},
                  AxisAttrs{0},
                  std::nullopt},
        InferCase{"matmul", Op::matmul, {f23, T(float32, {3, 4})}, NoAttrs{}, T(float32, {2, 4})},
        InferCase{"matmul_batched",
                  Op::matmul,
                  {T(float64, {7, 2, 3}), T(float64, {7, 3, 1})},
                  NoAttrs{},
                  T(float64, {7, 2, 1})},
        InferCase{"matmul_inner_mismatch", Op::matmul, {f23, f23}, NoAttrs{}, std::nullopt},
        InferCase{"matmul_batch_mismatch",
                  Op::matmul,
                  {T(float32, {7, 2, 3}), T(float32, {6, 3, 4})},
                  NoAttrs{},
                  std::nullopt},
        InferCase{"matmul_rank_mismatch",
                  Op::matmul,
                  {T(float32, {7, 2, 3}), T(float32, {3, 4})},
                  NoAttrs{},
                  std::nullopt},
        InferCase{"matmul_vector",
                  Op::matmul,
                  {T(float32, {3}), T(float32, {3})},
                  NoAttrs{},
                  std::nullopt},
        InferCase{"matmul_dtype", Op::matmul, {f23, T(float64, {3, 4})}, NoAttrs{}, std::nullopt}),
    CaseName);

}  // namespace
}  // namespace kiln::ir
