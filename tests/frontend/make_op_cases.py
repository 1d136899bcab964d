#!/usr/bin/python3
"""Generates op_cases.inc: PyTorch's results for the named expressions below. The C++ suites
(ops_test.cpp, reduce_test.cpp, shape_test.cpp, indexing_test.cpp, creation_test.cpp) hold a
lambda for every name, written with kiln's API over the same inputs, and check kiln's dtype,
shape and values against each row.

Run with a Python that has torch (here: /usr/bin/python3, torch 1.13):
    /usr/bin/python3 tests/frontend/make_op_cases.py > tests/frontend/op_cases.inc
"""
import math
import warnings
import torch

T = torch.tensor

# ---- the inputs (op_cases_inputs.h builds the same ones in C++) ----
x = T([[1.5, -2.0, 3.25, 0.0], [4.0, 4.0, -1.0, 2.5], [-3.5, 0.5, 2.0, 4.0]])  # [3, 4]
xi = T([[3, -1, 4], [1, -5, 9], [2, 6, -5]])  # int64 [3, 3]
xb = T([[True, False, True], [False, False, True]])  # bool [2, 3]
x3 = torch.arange(24.).reshape(2, 3, 4)
pos = T([0.25, 1.0, 2.0, 9.0])
v3 = T([1.0, 2.0, 3.0])
v4 = T([1.0, -1.0, 2.0, 0.5])


def inplace(t, fn):
    t = t.clone()
    fn(t)
    return t


def put(t, index, value):
    t = t.clone()
    t[index] = value
    return t


CASES = [
    # ---- elementwise: ops_test.cpp ----
    ("ops.add", lambda: x + x3[0]),
    ("ops.add_scalar", lambda: x + 2),
    ("ops.radd_scalar", lambda: 2.5 + xi),
    ("ops.sub_bcast", lambda: x - v4),
    ("ops.rsub_scalar", lambda: 1 - x),
    ("ops.mul_int", lambda: xi * xi),
    ("ops.mul_mixed", lambda: xi * 0.5),
    ("ops.div", lambda: x / v4),
    ("ops.div_int", lambda: xi / 2),
    ("ops.div_int_by_zero", lambda: xi / T([0, 0, 0])),
    ("ops.rdiv_scalar", lambda: 1 / pos),
    ("ops.neg", lambda: -x),
    ("ops.neg_int", lambda: xi.neg()),
    ("ops.pow_scalar", lambda: x.pow(2)),
    ("ops.pow_half", lambda: pos.pow(0.5)),
    ("ops.pow_tensor", lambda: v3.pow(v3)),
    ("ops.pow_int", lambda: xi.pow(2)),
    ("ops.rpow", lambda: torch.pow(2, v3)),
    ("ops.sqrt", lambda: pos.sqrt()),
    ("ops.sqrt_neg", lambda: x.sqrt()),
    ("ops.sqrt_int", lambda: xi.abs().sqrt()),
    ("ops.exp", lambda: x.exp()),
    ("ops.log", lambda: pos.log()),
    ("ops.log_zero_neg", lambda: T([0.0, -1.0]).log()),
    ("ops.log2", lambda: pos.log2()),
    ("ops.log10", lambda: pos.log10()),
    ("ops.abs", lambda: x.abs()),
    ("ops.abs_int", lambda: xi.abs()),
    ("ops.sin", lambda: x.sin()),
    ("ops.cos", lambda: x.cos()),
    ("ops.tanh", lambda: x.tanh()),
    ("ops.sigmoid", lambda: x.sigmoid()),
    ("ops.relu", lambda: x.relu()),
    ("ops.relu_int", lambda: xi.relu()),
    ("ops.sign", lambda: x.sign()),
    ("ops.rsqrt", lambda: pos.rsqrt()),
    ("ops.reciprocal", lambda: pos.reciprocal()),
    ("ops.expm1", lambda: v4.expm1()),
    ("ops.log1p", lambda: pos.log1p()),
    ("ops.tan", lambda: v4.tan()),
    ("ops.erf", lambda: x.erf()),
    ("ops.floor", lambda: x.floor()),
    ("ops.ceil", lambda: x.ceil()),
    ("ops.round_half_even", lambda: T([0.5, 1.5, 2.5, -0.5, -1.5, 2.4]).round()),
    ("ops.trunc", lambda: x.trunc()),
    ("ops.square", lambda: x.square()),
    ("ops.square_int", lambda: xi.square()),
    ("ops.maximum", lambda: torch.maximum(x, x3[0] - 5)),
    ("ops.minimum_mixed", lambda: torch.minimum(xi, T([0.5, 1.5, 2.5]))),
    ("ops.clamp", lambda: x.clamp(-1, 2)),
    ("ops.clamp_min", lambda: x.clamp(min=0.5)),
    ("ops.clamp_int_float", lambda: xi.clamp(0.5, 3.5)),
    ("ops.where", lambda: torch.where(x > 0, x, -x)),
    ("ops.where_scalar", lambda: torch.where(xb, 1.5, xi[:2])),
    ("ops.logical_not", lambda: xb.logical_not()),
    ("ops.logical_not_float", lambda: x.logical_not()),
    ("ops.logical_and", lambda: xb.logical_and(T([True, True, False]))),
    ("ops.logical_or_int", lambda: xi[:2].logical_or(xb)),
    ("ops.eq", lambda: x == T([1.5, 4.0, 2.0, 4.0])),
    ("ops.ne_scalar", lambda: xi != 1),
    ("ops.lt", lambda: x < x3[0] / 3),
    ("ops.le_scalar", lambda: x <= 2.5),
    ("ops.gt_mixed", lambda: xi > T([2.5])),
    ("ops.ge_bool", lambda: xb >= T([True, True, False])),
    ("ops.lt_nan", lambda: T([float("nan"), 1.0]) < 2.0),
    ("ops.ne_nan", lambda: T([float("nan"), 1.0]) != T([float("nan"), 1.0])),
    ("ops.noncontiguous_add", lambda: x.t() + x.t()[0]),
    ("ops.add_inplace", lambda: inplace(x, lambda t: t.add_(v4))),
    ("ops.sub_inplace_scalar", lambda: inplace(xi, lambda t: t.sub_(3))),
    ("ops.mul_inplace_bcast", lambda: inplace(x3, lambda t: t.mul_(v4))),
    ("ops.div_inplace", lambda: inplace(x, lambda t: t.div_(4))),
    ("ops.neg_inplace", lambda: inplace(xi, lambda t: t.neg_())),
    ("ops.pow_inplace", lambda: inplace(pos, lambda t: t.pow_(2))),
    ("ops.pow_inplace_tensor", lambda: inplace(v3, lambda t: t.pow_(v3))),
    ("ops.zero_inplace", lambda: inplace(x, lambda t: t.zero_())),
    ("ops.fill_inplace", lambda: inplace(xi, lambda t: t.fill_(2.7))),
    ("ops.fill_inplace_bool", lambda: inplace(xb, lambda t: t.fill_(2))),
    ("ops.copy_inplace_cast", lambda: inplace(xi, lambda t: t.copy_(T([1.9, -2.9, 3.5])))),
    ("ops.copy_into_transpose", lambda: inplace(xi, lambda t: t.t().copy_(xi))),
    ("ops.iadd_int_bool", lambda: inplace(xi, lambda t: t.add_(T([True, False, True])))),
    ("ops.imul_float16", lambda: inplace(x.half(), lambda t: t.mul_(1.1))),
    ("ops.uint8_wrap", lambda: T([250, 5], dtype=torch.uint8) + 10),
    ("ops.uint8_sub_wrap", lambda: T([1, 5], dtype=torch.uint8) - 3),
    ("ops.int8_mul_wrap", lambda: T([100, -100], dtype=torch.int8) * 2),
    ("ops.float16_add", lambda: x.half() + 0.1),
    ("ops.bfloat16_mul", lambda: x.bfloat16() * 1.1),
    ("ops.bfloat16_sqrt", lambda: pos.bfloat16().sqrt()),
    ("ops.float64_exp", lambda: x.double().exp()),
    ("ops.bool_add", lambda: xb + xb),
    ("ops.bool_mul_int", lambda: xb * 3),
    ("ops.int_div_neg", lambda: T([-7, 7]) / T([2, -2])),

    # ---- reductions: reduce_test.cpp ----
    ("reduce.sum", lambda: x.sum()),
    ("reduce.sum_dim0", lambda: x.sum(0)),
    ("reduce.sum_dim1_keepdim", lambda: x.sum(1, keepdim=True)),
    ("reduce.sum_neg_dim", lambda: x3.sum(-1)),
    ("reduce.sum_dims", lambda: x3.sum((0, 2))),
    ("reduce.sum_dims_keepdim", lambda: x3.sum((2, 0), keepdim=True)),
    ("reduce.sum_int", lambda: xi.sum()),
    ("reduce.sum_int32", lambda: xi.int().sum(0)),
    ("reduce.sum_bool", lambda: xb.sum()),
    ("reduce.sum_uint8", lambda: T([200, 100], dtype=torch.uint8).sum()),
    ("reduce.sum_float16", lambda: x.half().sum(1)),
    ("reduce.sum_empty", lambda: torch.ones(0, 3).sum(0)),
    ("reduce.sum_0d", lambda: T(2.5).sum()),
    ("reduce.sum_transposed", lambda: x.t().sum(1)),
    ("reduce.prod", lambda: x.prod()),
    ("reduce.prod_dim", lambda: xi.prod(1)),
    ("reduce.prod_keepdim", lambda: x.prod(0, keepdim=True)),
    ("reduce.mean", lambda: x.mean()),
    ("reduce.mean_dim0", lambda: x.mean(0)),
    ("reduce.mean_dim1_keepdim", lambda: x.mean(1, keepdim=True)),
    ("reduce.mean_dims", lambda: x3.mean((0, 1))),
    ("reduce.mean_float64", lambda: x.double().mean(1)),
    ("reduce.mean_empty", lambda: torch.ones(0).mean()),
    ("reduce.max", lambda: x.max()),
    ("reduce.min", lambda: x.min()),
    ("reduce.max_int", lambda: xi.max()),
    ("reduce.max_nan", lambda: T([1.0, float("nan"), 3.0]).max()),
    ("reduce.max_dim1_values", lambda: x.max(1)[0]),
    ("reduce.max_dim1_indices", lambda: x.max(1)[1]),
    ("reduce.max_dim0_keepdim_values", lambda: x.max(0, keepdim=True)[0]),
    ("reduce.max_dim0_keepdim_indices", lambda: x.max(0, keepdim=True)[1]),
    ("reduce.min_dim1_values", lambda: xi.min(1)[0]),
    ("reduce.min_dim1_indices", lambda: xi.min(1)[1]),
    ("reduce.min_neg_dim_indices", lambda: x3.min(-2)[1]),
    ("reduce.max_bool_dim", lambda: xb.max(1)[0]),
    ("reduce.amax_dims", lambda: x3.amax((0, 2))),
    ("reduce.amin_keepdim", lambda: x.amin(1, keepdim=True)),
    ("reduce.argmax_ties", lambda: x.argmax(1)),
    ("reduce.argmax_flat", lambda: x.argmax()),
    ("reduce.argmax_dim0", lambda: x.argmax(0)),
    ("reduce.argmax_keepdim", lambda: x.argmax(0, keepdim=True)),
    ("reduce.argmin_ties", lambda: T([[2, 1, 1], [0, 0, 3]]).argmin(1)),
    ("reduce.argmin_flat", lambda: x.argmin()),
    ("reduce.argmax_int", lambda: xi.argmax(0)),
    ("reduce.argmax_nan", lambda: T([1.0, float("nan"), 3.0, float("nan")]).argmax()),
    ("reduce.argmax_bool", lambda: xb.argmax(1)),
    ("reduce.argmax_0d", lambda: T(3.0).argmax()),
    ("reduce.std", lambda: x.std()),
    ("reduce.std_dim", lambda: x.std(1)),
    ("reduce.std_dim_keepdim", lambda: x.std(0, keepdim=True)),
    ("reduce.std_population", lambda: x.std(1, correction=0)),
    ("reduce.var", lambda: x.var()),
    ("reduce.var_dim", lambda: x3.var(2)),
    ("reduce.var_single", lambda: T([2.0]).var()),
    ("reduce.var_float64", lambda: x.double().var(0)),
    ("reduce.all", lambda: xb.all()),
    ("reduce.all_dim", lambda: xb.all(0)),
    ("reduce.any", lambda: xb.any()),
    ("reduce.any_dim_keepdim", lambda: xb.any(1, keepdim=True)),
    ("reduce.all_float", lambda: x.all(1)),
    ("reduce.any_int", lambda: (xi * 0).any()),
    ("reduce.all_uint8", lambda: T([1, 2, 0], dtype=torch.uint8).all()),
    ("reduce.all_empty", lambda: torch.ones(0).all()),
    ("reduce.any_empty", lambda: torch.ones(0).any()),

    # ---- shapes, joins, matmul: shape_test.cpp ----
    ("shape.reshape", lambda: x.reshape(2, 6)),
    ("shape.reshape_infer", lambda: x3.reshape(-1, 6)),
    ("shape.reshape_transposed", lambda: x.t().reshape(12)),
    ("shape.view", lambda: x3.view(4, 6)),
    ("shape.transpose", lambda: x3.transpose(0, 2)),
    ("shape.t", lambda: x.t()),
    ("shape.t_1d", lambda: v3.t()),
    ("shape.permute", lambda: x3.permute(2, 0, 1)),
    ("shape.permute_neg", lambda: x3.permute(-1, -3, -2)),
    ("shape.squeeze", lambda: torch.ones(1, 3, 1, 2).squeeze()),
    ("shape.squeeze_dim", lambda: torch.ones(1, 3, 1).squeeze(-1)),
    ("shape.squeeze_noop", lambda: x.squeeze(0)),
    ("shape.unsqueeze", lambda: x.unsqueeze(1)),
    ("shape.unsqueeze_end", lambda: x.unsqueeze(-1)),
    ("shape.flatten", lambda: x3.flatten()),
    ("shape.flatten_range", lambda: x3.flatten(1)),
    ("shape.flatten_0d", lambda: T(5.0).flatten()),
    ("shape.expand", lambda: v3.unsqueeze(1).expand(3, 2)),
    ("shape.expand_new_dims", lambda: v3.expand(2, 2, 3)),
    ("shape.expand_minus_one", lambda: x[:1].expand(3, -1)),
    ("shape.narrow", lambda: x.narrow(1, 1, 2)),
    ("shape.narrow_neg_start", lambda: x.narrow(0, -2, 2)),
    ("shape.select", lambda: x3.select(1, -1)),
    ("shape.cat0", lambda: torch.cat([x, x[:1] * 10], 0)),
    ("shape.cat1", lambda: torch.cat([x, v3.unsqueeze(1)], 1)),
    ("shape.cat_neg_dim", lambda: torch.cat([x3, x3], -1)),
    ("shape.cat_promote", lambda: torch.cat([xi[0], v3, T([True])])),
    ("shape.cat_int_types", lambda: torch.cat([T([1], dtype=torch.int8), T([300], dtype=torch.int16)])),
    ("shape.cat_skips_empty_1d", lambda: torch.cat([x, torch.ones(0)], 0)),
    ("shape.cat_single", lambda: torch.cat([x], 1)),
    ("shape.stack0", lambda: torch.stack([v3, v3 * 2])),
    ("shape.stack1", lambda: torch.stack([v3, v3 * 2], 1)),
    ("shape.stack_last", lambda: torch.stack([x, x], -1)),
    ("shape.stack_promote", lambda: torch.stack([xi[0], v3])),
    ("shape.stack_0d", lambda: torch.stack([T(1), T(2)])),
    ("shape.matmul_dot", lambda: torch.matmul(v3, v3)),
    ("shape.matmul_mv", lambda: torch.matmul(x, v4)),
    ("shape.matmul_vm", lambda: torch.matmul(v3, x)),
    ("shape.matmul_mm", lambda: torch.matmul(x, x.t())),
    ("shape.matmul_batched", lambda: torch.matmul(x3, x.t())),
    ("shape.matmul_batched_vec", lambda: torch.matmul(x3, v4)),
    ("shape.matmul_vec_batched", lambda: torch.matmul(v3, x3)),
    ("shape.matmul_mat_batched", lambda: torch.matmul(x[:2, :3], x3)),
    ("shape.matmul_broadcast", lambda: torch.matmul(x3.unsqueeze(1), x3.transpose(1, 2))),
    ("shape.matmul_broadcast_1", lambda: torch.matmul(x3[:1], x3.transpose(1, 2))),
    ("shape.matmul_int", lambda: torch.matmul(xi, xi)),
    ("shape.matmul_float64", lambda: torch.matmul(x.double(), v4.double())),
    ("shape.matmul_empty_k", lambda: torch.matmul(torch.ones(2, 0), torch.ones(0, 3))),
    ("shape.matmul_transposed_batch", lambda: torch.matmul(x3.transpose(1, 2), x3)),
    ("shape.mm", lambda: torch.mm(x, x3[1].t())),
    ("shape.bmm", lambda: torch.bmm(x3, x3.transpose(1, 2))),
    ("shape.operator_matmul_method", lambda: x.t().matmul(x)),
    ("shape.contiguous_of_transpose", lambda: x3.transpose(0, 1).contiguous()),
    ("shape.clone_of_expand", lambda: v3.expand(2, 3).clone()),

    # ---- indexing: indexing_test.cpp ----
    ("index.int", lambda: x3[1]),
    ("index.neg_int", lambda: x3[-1, -2]),
    ("index.slice", lambda: x3[:, 1:]),
    ("index.slice_step", lambda: x3[..., ::3]),
    ("index.slice_neg_bounds", lambda: x[-2:, :-1]),
    ("index.slice_out_of_range", lambda: x[5:10]),
    ("index.slice_stop_before_start", lambda: x[2:1]),
    ("index.slice_big_step", lambda: x[:, 1::10]),
    ("index.none", lambda: x[None]),
    ("index.none_middle", lambda: x[:, None, 1]),
    ("index.none_twice", lambda: x[None, ..., None]),
    ("index.ellipsis", lambda: x3[..., 1]),
    ("index.ellipsis_middle", lambda: x3[0, ..., 2]),
    ("index.ellipsis_none", lambda: x3[..., None]),
    ("index.ellipsis_all", lambda: x[...]),
    ("index.int_tensor", lambda: x[T([2, 0, 2])]),
    ("index.int_tensor_neg", lambda: x[T([-1, 0])]),
    ("index.int_tensor_2d", lambda: x[T([[0, 1], [2, 2]])]),
    ("index.int_tensor_0d", lambda: x[T(1)]),
    ("index.two_tensors", lambda: x[T([0, 2]), T([1, 3])]),
    ("index.broadcast_tensors", lambda: x[T([[0], [2]]), T([1, 3])]),
    ("index.tensor_and_slice", lambda: x[T([0, 2]), 1:3]),
    ("index.slice_and_tensor", lambda: x3[:, T([0, 2])]),
    ("index.adjacent_after_slice", lambda: x3[:, T([0, 2]), T([1, 3])]),
    ("index.non_adjacent", lambda: x3[T([0, 1]), :, T([1, 3])]),
    ("index.non_adjacent_2d", lambda: x3[T([[0], [1]]), :, T([1, 3])]),
    ("index.int_then_tensor", lambda: x3[1, :, T([0, 3])]),
    ("index.tensor_none_tensor", lambda: x3[T([0, 1]), None, T([0, 2])]),
    ("index.bool_mask", lambda: x[x > 2]),
    ("index.bool_mask_rows", lambda: x[T([True, False, True])]),
    ("index.bool_mask_2d_of_3d", lambda: x3[T([[True, False, True], [False, True, False]])]),
    ("index.bool_mask_after_slice", lambda: x3[:, T([False, True, True])]),
    ("index.bool_true_scalar", lambda: x[T(True)]),
    ("index.bool_false_scalar", lambda: x[T(False)]),
    ("index.mask_and_tensor", lambda: x3[T([False, True]), T([0, 2])]),
    ("index.uint8_mask", lambda: x[T([1, 0, 1], dtype=torch.uint8)]),
    ("index.empty_index_tensor", lambda: x[T([], dtype=torch.long)]),
    ("index.of_transposed", lambda: x.t()[T([0, 3])]),
    ("index.strided_index_tensor", lambda: x[T([0, 1, 2, 0])[::2]]),
    ("index.int_tensor_int64_values", lambda: xi[T([2, 1]), T([0, 2])]),
    ("index.bool_values", lambda: xb[:, T([2, 0])]),
    ("index.nonzero", lambda: x.nonzero()),
    ("index.nonzero_bool", lambda: xb.nonzero()),
    ("index.nonzero_empty", lambda: torch.zeros(2, 2).nonzero()),
    ("put.int", lambda: put(x, 1, 0.0)),
    ("put.slice_tensor", lambda: put(x, (slice(None), slice(1, 3)), T([[1.0, 2.0]]))),
    ("put.slice_step", lambda: put(x, (slice(None, None, 2), slice(None, None, 3)), -1.0)),
    ("put.ellipsis", lambda: put(x3, (Ellipsis, 0), T([9.0, 8.0, 7.0]))),
    ("put.none", lambda: put(x, (None, 0), 5.0)),
    ("put.int_tensor", lambda: put(x, T([0, 2]), T([1.0, 2.0, 3.0, 4.0]))),
    ("put.two_tensors", lambda: put(x, (T([0, 2]), T([1, 3])), T([10.0, 20.0]))),
    ("put.broadcast_tensors", lambda: put(x, (T([[0], [2]]), T([1, 3])), 7.0)),
    ("put.non_adjacent", lambda: put(x3, (T([0, 1]), slice(None), T([1, 3])),
                                      T([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))),
    ("put.bool_mask_scalar", lambda: put(x, x > 2, 0.0)),
    ("put.bool_mask_tensor", lambda: put(x, x < 0, T([-1.0, -2.0, -3.0]))),
    ("put.bool_rows", lambda: put(x, T([True, False, True]), T([1.0, 2.0, 3.0, 4.0]))),
    ("put.mask_one_element_value_casts", lambda: put(xi, xi > 0, T(2.5))),
    ("put.neg_index_tensor", lambda: put(x, T([-1]), 0.0)),
    ("put.value_leading_ones", lambda: put(x, 0, torch.ones(1, 1, 4) * 3)),
    ("put.int_scalar_into_int", lambda: put(xi, (T([0]), T([1])), 100)),
    ("put.float_into_int_basic", lambda: put(xi, 0, T([1.7, 2.2, -3.9]))),
    ("put.float_scalar_into_int_tensor_index", lambda: put(xi, T([1]), 2.9)),
    ("put.into_transposed_view", lambda: inplace(x, lambda t: t.t().__setitem__(T([1, 3]), 0.0))),
    ("put.value_dtype_mismatch", lambda: put(x, T([0]), T([1, 2, 3, 4]))),

    # ---- creation: creation_test.cpp ----
    ("create.scalar_int", lambda: T(3)),
    ("create.scalar_float", lambda: T(2.5)),
    ("create.scalar_bool", lambda: T(True)),
    ("create.scalar_with_dtype", lambda: T(2.7, dtype=torch.int32)),
    ("create.list_float", lambda: T([1.5, 2.0])),
    ("create.nested_3d", lambda: T([[[1, 2]], [[3, 4]]])),
    ("create.nested_4d", lambda: T([[[[True]], [[False]]]])),
    ("create.list_with_dtype", lambda: T([[1, 2], [3, 4]], dtype=torch.float16)),
    ("create.list_float_to_int", lambda: T([1.9, -1.9], dtype=torch.int64)),
    ("create.empty_list", lambda: T([])),
    ("create.zeros", lambda: torch.zeros(2, 3)),
    ("create.zeros_int8", lambda: torch.zeros(2, dtype=torch.int8)),
    ("create.ones_bool", lambda: torch.ones(2, 2, dtype=torch.bool)),
    ("create.ones_0d", lambda: torch.ones([])),
    ("create.ones_empty", lambda: torch.ones(0, 3)),
    ("create.full_int", lambda: torch.full((2,), 7)),
    ("create.full_float", lambda: torch.full((2, 2), 1.5)),
    ("create.full_bool", lambda: torch.full((3,), True)),
    ("create.full_dtype", lambda: torch.full((2,), 2.9, dtype=torch.uint8)),
    ("create.zeros_like", lambda: torch.zeros_like(xi)),
    ("create.ones_like_dtype", lambda: torch.ones_like(xi, dtype=torch.float64)),
    ("create.full_like", lambda: torch.full_like(x, 2.5)),
    ("create.full_like_int_truncates", lambda: torch.full_like(xi, 2.5)),
    ("create.empty_like_shape", lambda: torch.zeros_like(torch.empty_like(x3))),
    ("create.eye", lambda: torch.eye(3)),
    ("create.eye_int", lambda: torch.eye(2, dtype=torch.int64)),
    ("create.arange", lambda: torch.arange(5)),
    ("create.arange_dtype", lambda: torch.arange(5, dtype=torch.int32)),
    ("create.arange_float_end", lambda: torch.arange(5.0)),
    ("create.arange_start_end", lambda: torch.arange(2, 6)),
    ("create.arange_float_step", lambda: torch.arange(1, 2.5, 0.5)),
    ("create.arange_tenths", lambda: torch.arange(0, 1, 0.1)),
    ("create.arange_negative_step", lambda: torch.arange(0, -3, -1)),
    ("create.arange_negative_float_step", lambda: torch.arange(1.0, -1.0, -0.5)),
    ("create.arange_int_step_not_dividing", lambda: torch.arange(10, 0, -3)),
    ("create.arange_empty", lambda: torch.arange(5, 5)),
    ("create.arange_half_offsets", lambda: torch.arange(-1.5, 1.5)),
    ("create.arange_float64", lambda: torch.arange(0, 10, 3, dtype=torch.float64)),
    ("create.arange_float_to_int_dtype", lambda: torch.arange(0.5, 4, 1.5, dtype=torch.int64)),
    ("create.linspace", lambda: torch.linspace(0, 1, 5)),
    ("create.linspace_sevenths", lambda: torch.linspace(0, 1, 7)),
    ("create.linspace_one", lambda: torch.linspace(-1, 1, 1)),
    ("create.linspace_empty", lambda: torch.linspace(0, 1, 0)),
    ("create.linspace_descending", lambda: torch.linspace(1, 0, 3)),
    ("create.linspace_int", lambda: torch.linspace(0, 10, 4, dtype=torch.int64)),
    ("create.linspace_float64", lambda: torch.linspace(-2, 3, 6, dtype=torch.float64)),
    ("create.linspace_float16", lambda: torch.linspace(0, 1, 5, dtype=torch.float16)),
    ("create.float16_round_trip", lambda: T([0.1, 1 / 3, 65504.0, 1e-8, 70000.0, 2049.0]).half().float()),
    ("create.bfloat16_round_trip", lambda: T([0.1, 1 / 3, 65504.0, 1e-8, 70000.0, 257.0]).bfloat16().float()),
    ("create.float64_to_float16", lambda: T([0.1, 1e5, -1e-9], dtype=torch.float64).half()),
    ("random.rand", lambda: (torch.manual_seed(0), torch.rand(5))[1]),
    ("random.rand_float64", lambda: (torch.manual_seed(1), torch.rand(2, 2, dtype=torch.float64))[1]),
    ("random.rand_float16", lambda: (torch.manual_seed(2), torch.rand(4, dtype=torch.float16))[1]),
    ("random.rand_bfloat16", lambda: (torch.manual_seed(2), torch.rand(4, dtype=torch.bfloat16))[1]),
    ("random.randn_small", lambda: (torch.manual_seed(0), torch.randn(2, 3))[1]),
    ("random.randn_16", lambda: (torch.manual_seed(3), torch.randn(16))[1]),
    ("random.randn_19", lambda: (torch.manual_seed(3), torch.randn(19))[1]),
    ("random.randn_float64", lambda: (torch.manual_seed(4), torch.randn(3, dtype=torch.float64))[1]),
    ("random.randn_float64_big", lambda: (torch.manual_seed(4), torch.randn(4, 5, dtype=torch.float64))[1]),
    ("random.randn_twice_uses_cache", lambda: (torch.manual_seed(5), torch.randn(1), torch.randn(1))[2]),
    ("random.randint", lambda: (torch.manual_seed(0), torch.randint(0, 10, (6,)))[1]),
    ("random.randint_high_only", lambda: (torch.manual_seed(0), torch.randint(5, (2, 2)))[1]),
    ("random.randint_negative_low", lambda: (torch.manual_seed(7), torch.randint(-5, 5, (4,), dtype=torch.int32))[1]),
    ("random.randint_uint8", lambda: (torch.manual_seed(7), torch.randint(0, 256, (4,), dtype=torch.uint8))[1]),
    ("random.randint_bool", lambda: (torch.manual_seed(3), torch.randint(0, 2, (8,), dtype=torch.bool))[1]),
    ("random.randint_float32", lambda: (torch.manual_seed(3), torch.randint(-4, 4, (5,), dtype=torch.float32))[1]),
    ("random.sequence", lambda: (torch.manual_seed(42), torch.rand(2), torch.randint(0, 100, (2,)), torch.randn(3))[3]),
    ("random.rand_like", lambda: (torch.manual_seed(9), torch.rand_like(x3[0]))[1]),
]

# Conversions: to.<from>.<to>: torch.tensor(CONVERSION_VALUES, dtype=float64).to(from).to(to)
CONVERSION_VALUES = [0.0, 1.0, 2.5, -3.75, 100.0, 0.5, 127.0, 255.0]
DTYPE_LIST = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.int16,
              torch.int32, torch.int64, torch.uint8, torch.bool]


def conversion_case(src, dst):
    return lambda: T(CONVERSION_VALUES, dtype=torch.float64).to(src).to(dst)


def dtype_name(d):
    return {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16",
            torch.bfloat16: "bfloat16", torch.int8: "int8", torch.int16: "int16",
            torch.int32: "int32", torch.int64: "int64", torch.uint8: "uint8",
            torch.bool: "bool"}[d]


def cpp_double(v):
    if math.isnan(v):
        return "kNaN"
    if math.isinf(v):
        return "kInf" if v > 0 else "-kInf"
    if v == 0 and math.copysign(1, v) < 0:
        return "-0.0"
    return repr(float(v))


def main():
    warnings.filterwarnings("ignore")  # uint8 masks are deprecated, still supported
    print("// Generated by make_op_cases.py from torch " + torch.__version__ + ". Do not edit.")
    print("// {name, dtype, shape, values (row-major), torch's error message}")
    print("// A row whose dtype is \"error\" is an expression PyTorch refuses.")
    names = set()
    cases = list(CASES)
    for src in DTYPE_LIST:
        for dst in DTYPE_LIST:
            cases.append((f"to.{dtype_name(src)}.{dtype_name(dst)}", conversion_case(src, dst)))
    for name, fn in cases:
        assert name not in names, name
        names.add(name)
        try:
            out = fn()
        except RuntimeError as e:
            message = str(e).split("\n")[0].replace("\\", "\\\\").replace('"', '\\"')
            print(f'    {{"{name}", "error", {{}}, {{}}, "{message}"}},')
            continue
        values = out.double().reshape(-1).tolist()
        shape = ", ".join(str(s) for s in out.shape)
        vals = ", ".join(cpp_double(v) for v in values)
        print(f'    {{"{name}", "{dtype_name(out.dtype)}", {{{shape}}}, {{{vals}}}, ""}},')


if __name__ == "__main__":
    main()
