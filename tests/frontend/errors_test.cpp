// Error messages for bad input, each checked against PyTorch 1.13's wording (the torch
// expression is in the comment). Errors are thrown at the call, before any value is needed.
#include "frontend_test_util.h"

namespace kiln {
namespace {

using testing::error_of;
using ::testing::HasSubstr;

Tensor x23() { return arange(6).to(float32).reshape({2, 3}); }  // pending until read

TEST(Errors, CreationShapes) {
  // torch.tensor([[1, 2, 3], [4, 5]])
  EXPECT_KILN_ERROR((tensor({{1, 2, 3}, {4, 5}})),
                    "expected sequence of length 3 at dim 1 (got 2)");
  // torch.zeros(2, -1)
  EXPECT_KILN_ERROR(zeros({2, -1}), "Trying to create tensor with negative dimension -1: [2, -1]");
  EXPECT_KILN_ERROR(full({2, -1}, 1.0),
                    "Trying to create tensor with negative dimension -1: [2, -1]");
  EXPECT_KILN_ERROR(ones({-3}), "Trying to create tensor with negative dimension -3: [-3]");
  EXPECT_KILN_ERROR(randn({-1}), "Trying to create tensor with negative dimension -1");
}

TEST(Errors, CreationArguments) {
  // torch.arange(0, 5, 0) / torch.arange(0, 5, -1) / torch.linspace(0, 1, -1)
  EXPECT_KILN_ERROR(arange(0, 5, 0), "step must be nonzero");
  EXPECT_KILN_ERROR(arange(0, 5, -1), "upper bound and larger bound inconsistent with step sign");
  EXPECT_KILN_ERROR(linspace(0, 1, -1), "number of steps must be non-negative");
  // torch.rand(2, dtype=torch.int64) / torch.randn(2, dtype=torch.int64)
  EXPECT_KILN_ERROR(rand({2}, int64), "\"check_uniform_bounds\" not implemented for 'Long'");
  EXPECT_KILN_ERROR(randn({2}, int64), "\"normal_kernel_cpu\" not implemented for 'Long'");
  // torch.randint(5, 5, (2,))
  EXPECT_KILN_ERROR(randint(5, 5, {2}),
                    "random_ expects 'from' to be less than 'to', but got from=5 >= to=5");
}

TEST(Errors, BroadcastAndInplaceShapes) {
  EXPECT_KILN_ERROR(ones({2, 3}) + ones({2, 4}),
                    "The size of tensor a (3) must match the size of tensor b (4) at "
                    "non-singleton dimension 1");
  // torch.ones(3).copy_(torch.ones(2, 3)) / torch.ones(2, 3).copy_(torch.ones(3, 1))
  EXPECT_KILN_ERROR(ones({3}).copy_(ones({2, 3})),
                    "output with shape [3] doesn't match the broadcast shape [2, 3]");
  EXPECT_KILN_ERROR(ones({2, 3}).copy_(ones({3, 1})),
                    "The size of tensor a (2) must match the size of tensor b (3) at "
                    "non-singleton dimension 0");
  EXPECT_KILN_ERROR(ones({2}).mul_(ones({2, 2})),
                    "output with shape [2] doesn't match the broadcast shape [2, 2]");
}

TEST(Errors, DtypeRules) {
  EXPECT_KILN_ERROR(tensor({1, 2}).add_(1.5),
                    "result type Float can't be cast to the desired output type Long");
  // -torch.tensor([True])
  EXPECT_KILN_ERROR(-tensor({true}),
                    "Negation, the `-` operator, on a bool tensor is not supported.");
  // torch.tensor([2]) ** -1
  EXPECT_KILN_ERROR(tensor({2}).pow(-1), "Integers to negative integer powers are not allowed.");
  // torch.where(torch.tensor([1, 0]), ...)
  EXPECT_KILN_ERROR(where(tensor({1, 0}), ones({2}), zeros({2})),
                    "where expected condition to be a boolean tensor, but got a tensor with "
                    "dtype Long");
  // torch.allclose(torch.ones(2), torch.ones(2, dtype=torch.float64))
  EXPECT_KILN_ERROR(allclose(ones({2}), ones({2}, float64)), "Float did not match Double");
  EXPECT_KILN_ERROR(x23().clamp(std::nullopt, std::nullopt),
                    "At least one of 'min' or 'max' must not be None");
}

TEST(Errors, ReductionsOfIntegers) {
  EXPECT_KILN_ERROR(tensor({1, 2}).mean(),
                    "mean(): could not infer output dtype. Input dtype must be either a floating "
                    "point or complex dtype. Got: Long");
  EXPECT_KILN_ERROR(tensor({1, 2}).mean(0), "could not infer output dtype");
  // torch.tensor([1, 2]).std() / .var() / torch.tensor([True]).std()
  EXPECT_KILN_ERROR(tensor({1, 2}).std(),
                    "std and var only support floating point and complex dtypes");
  EXPECT_KILN_ERROR(tensor({1, 2}).var(),
                    "std and var only support floating point and complex dtypes");
  EXPECT_KILN_ERROR(tensor({true}).std(0),
                    "std and var only support floating point and complex dtypes");
}

TEST(Errors, EmptyReductions) {
  // torch.ones(0).max() / .argmax() / torch.ones(2, 0).max(1)
  EXPECT_KILN_ERROR(ones({0}).max(),
                    "max(): Expected reduction dim to be specified for input.numel() == 0. "
                    "Specify the reduction dim with the 'dim' argument.");
  EXPECT_KILN_ERROR(ones({0}).argmax(),
                    "argmax(): Expected reduction dim to be specified for input.numel() == 0.");
  EXPECT_KILN_ERROR(ones({2, 0}).max(1), "max(): Expected reduction dim 1 to have non-zero size.");
}

TEST(Errors, BadDims) {
  const char* range2 = "Dimension out of range (expected to be in range of [-2, 1], but got 2)";
  EXPECT_KILN_ERROR(x23().sum(2), range2);
  EXPECT_KILN_ERROR(x23().sum(-3), "(expected to be in range of [-2, 1], but got -3)");
  EXPECT_KILN_ERROR(x23().sum(Shape{0, 0}), "dim 0 appears multiple times in the list of dims");
  EXPECT_KILN_ERROR(x23().transpose(0, 2), range2);
  EXPECT_KILN_ERROR(x23().squeeze(2), range2);
  EXPECT_KILN_ERROR(x23().argmax(2), range2);
  EXPECT_KILN_ERROR(x23().max(2), range2);
  EXPECT_KILN_ERROR(x23().unsqueeze(3),
                    "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
  EXPECT_KILN_ERROR(
      x23().permute({0}),
      "number of dimensions in the tensor input does not match the length of the "
      "desired ordering of dimensions i.e. input.dim() = 2 is not equal to len(dims) = 1");
  EXPECT_KILN_ERROR(x23().permute({0, 0}), "permute(): duplicate dims are not allowed.");
  EXPECT_KILN_ERROR(ones({2, 3, 4}).flatten(2, 1),
                    "flatten() has invalid args: start_dim cannot come after end_dim");
  EXPECT_KILN_ERROR(ones({2, 2, 2}).t(),
                    "t() expects a tensor with <= 2 dimensions, but self is 3D");
  EXPECT_KILN_ERROR(x23().size(2), range2);
}

TEST(Errors, ViewsAndReshape) {
  EXPECT_KILN_ERROR(x23().t().view({6}),
                    "view size is not compatible with input tensor's size and stride (at least one "
                    "dimension spans across two contiguous subspaces). Use .reshape(...) instead.");
  EXPECT_KILN_ERROR(ones({6}).reshape({4, 2}), "shape '[4, 2]' is invalid for input of size 6");
  EXPECT_KILN_ERROR(ones({6}).view({4, 2}), "shape '[4, 2]' is invalid for input of size 6");
  EXPECT_KILN_ERROR(ones({6}).reshape({-1, 4}), "shape '[-1, 4]' is invalid for input of size 6");
  EXPECT_KILN_ERROR(ones({6}).reshape({-1, -1}), "only one dimension can be inferred");
  EXPECT_KILN_ERROR(ones({6}).reshape({-2, 3}), "invalid shape dimension -2");
  // x.expand(3, 3) / x.expand(3)
  EXPECT_KILN_ERROR(x23().expand({3, 3}),
                    "The expanded size of the tensor (3) must match the existing size (2) at "
                    "non-singleton dimension 0.  Target sizes: [3, 3].  Tensor sizes: [2, 3]");
  EXPECT_KILN_ERROR(x23().expand({3}),
                    "the number of sizes provided (1) must be greater or equal to the number of "
                    "dimensions in the tensor (2)");
  EXPECT_KILN_ERROR(x23().narrow(1, 2, 2), "start (2) + length (2) exceeds dimension size (3).");
  EXPECT_KILN_ERROR(tensor(1.0).narrow(0, 0, 1), "narrow() cannot be applied to a 0-dim tensor.");
  EXPECT_KILN_ERROR(tensor(1.0).select(0, 0), "select() cannot be applied to a 0-dim tensor.");
}

TEST(Errors, MatrixProducts) {
  // torch.mm(torch.ones(2, 3), torch.ones(2, 3))
  EXPECT_KILN_ERROR(mm(ones({2, 3}), ones({2, 3})),
                    "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)");
  EXPECT_KILN_ERROR(mm(ones({3}), ones({3, 2})), "self must be a matrix");
  EXPECT_KILN_ERROR(mm(ones({2, 3}), ones({3})), "mat2 must be a matrix");
  EXPECT_KILN_ERROR(mm(ones({2, 2}), ones({2, 2}, float64)),
                    "expected scalar type Float but found Double");
  EXPECT_KILN_ERROR(mm(ones({2, 2}, boolean), ones({2, 2}, boolean)), "not implemented for 'Bool'");
  EXPECT_KILN_ERROR(bmm(ones({2, 3}), ones({3, 2})), "batch1 must be a 3D tensor");
  EXPECT_KILN_ERROR(bmm(ones({2, 2, 3}), ones({2, 2, 3})),
                    "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but "
                    "got: [2, 2].");
  EXPECT_KILN_ERROR(bmm(ones({2, 2, 3}), ones({2, 3, 2}, float64)),
                    "expected scalar type Float but found Double");
}

TEST(Errors, MatmulFollowsTorchDispatch) {
  EXPECT_KILN_ERROR(matmul(tensor(1.0), ones({2})),
                    "both arguments to matmul need to be at least 1D, but they are 0D and 1D");
  // 1-D x 1-D is dot
  EXPECT_KILN_ERROR(matmul(ones({3}), ones({4})),
                    "inconsistent tensor size, expected tensor [3] and src [4] to have the same "
                    "number of elements, but got 3 and 4 elements respectively");
  EXPECT_KILN_ERROR(matmul(ones({3}), ones({3}, float64)),
                    "dot : expected both vectors to have same dtype, but found Float and Double");
  // 2-D x 1-D is mv; a batch folds into the rows: torch.ones(5, 2, 3) @ torch.ones(4)
  EXPECT_KILN_ERROR(matmul(ones({2, 3}), ones({4})), "size mismatch, got 2, 2x3,4");
  EXPECT_KILN_ERROR(matmul(ones({5, 2, 3}), ones({4})), "size mismatch, got 10, 10x3,4");
  EXPECT_KILN_ERROR(matmul(ones({2, 3}), ones({3}, float64)),
                    "expected scalar type Float but found Double");
  // 1-D x 2-D is [1, k] @ [k, n]
  EXPECT_KILN_ERROR(matmul(ones({3}), ones({4, 2})),
                    "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x2)");
  EXPECT_KILN_ERROR(matmul(ones({2, 3}), ones({4, 2})),
                    "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x2)");
  EXPECT_KILN_ERROR(matmul(ones({5, 2, 3}), ones({4, 2})),
                    "mat1 and mat2 shapes cannot be multiplied (10x3 and 4x2)");
  // A batched right operand with a 1-D or 2-D left one folds the transposed right operand.
  EXPECT_KILN_ERROR(matmul(ones({2, 3}), ones({5, 4, 2})),
                    "mat1 and mat2 shapes cannot be multiplied (10x4 and 3x2)");
  EXPECT_KILN_ERROR(matmul(ones({3}), ones({5, 4, 2})), "size mismatch, got 10, 10x4,3");
  // Both batched: batch dims broadcast, then bmm over the flattened batch.
  EXPECT_KILN_ERROR(matmul(ones({5, 2, 3}), ones({4, 3, 2})),
                    "The size of tensor a (5) must match the size of tensor b (4) at "
                    "non-singleton dimension 0");
  EXPECT_KILN_ERROR(matmul(ones({1, 5, 2, 3}), ones({5, 4, 2})),
                    "Expected size for first two dimensions of batch2 tensor to be: [5, 3] but "
                    "got: [5, 4].");
  EXPECT_KILN_ERROR(matmul(ones({2, 2, 3}), ones({2, 3, 2}, float64)),
                    "expected scalar type Float but found Double");
}

TEST(Errors, CatAndStack) {
  EXPECT_KILN_ERROR(cat({ones({2, 3}), ones({2, 4})}, 0),
                    "Sizes of tensors must match except in dimension 0. Expected size 3 but got "
                    "size 4 for tensor number 1 in the list.");
  EXPECT_KILN_ERROR(cat({ones({2, 3}), ones({3, 3})}, 1),
                    "Sizes of tensors must match except in dimension 1. Expected size 2 but got "
                    "size 3 for tensor number 1 in the list.");
  EXPECT_KILN_ERROR(cat({ones({2, 3}), ones({3})}, 0),
                    "Tensors must have same number of dimensions: got 2 and 1");
  EXPECT_KILN_ERROR(cat({ones({2}), tensor(1.0)}, 0),
                    "zero-dimensional tensor (at position 1) cannot be concatenated");
  EXPECT_KILN_ERROR(cat({}, 0), "torch.cat(): expected a non-empty list of Tensors");
  EXPECT_KILN_ERROR(cat({ones({2, 3}), ones({2, 3})}, 2),
                    "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_KILN_ERROR(stack({ones({2, 3}), ones({2, 4})}),
                    "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and "
                    "[2, 4] at entry 1");
  EXPECT_KILN_ERROR(stack({}), "stack expects a non-empty TensorList");
  EXPECT_KILN_ERROR(stack({ones({2, 3})}, 4),
                    "Dimension out of range (expected to be in range of [-3, 2], but got 4)");
}

TEST(Errors, HostAccess) {
  EXPECT_KILN_ERROR(x23().item<float>(), "a Tensor with 6 elements cannot be converted to Scalar");
  EXPECT_KILN_ERROR(ones({0}).item<float>(),
                    "a Tensor with 0 elements cannot be converted to Scalar");
  // C++ data_ptr<T> with the wrong T (LibTorch's wording)
  EXPECT_KILN_ERROR(x23().data_ptr<double>(), "expected scalar type Double but found Float");
  EXPECT_KILN_ERROR(tensor({1, 2}).data_ptr<int32_t>(), "expected scalar type Int but found Long");
  EXPECT_KILN_ERROR(Tensor().dim(), "undefined");
}

TEST(Errors, BasicIndexing) {
  // x[5] / x[-3] / x[0, 3] on a [2, 3] tensor
  EXPECT_KILN_ERROR(x23()[5], "index 5 is out of bounds for dimension 0 with size 2");
  EXPECT_KILN_ERROR(x23()[-3], "index -3 is out of bounds for dimension 0 with size 2");
  EXPECT_KILN_ERROR(x23().index({0, 3}), "index 3 is out of bounds for dimension 1 with size 3");
  // x[::0] / x[::-1]
  EXPECT_KILN_ERROR(x23().index({Slice(None, None, 0)}), "slice step cannot be zero");
  EXPECT_KILN_ERROR(x23().index({Slice(None, None, -1)}), "step must be greater than zero");
  // x[0, 0, 0] / x[..., 0, 0, 0]
  EXPECT_KILN_ERROR(x23().index({0, 0, 0}), "too many indices for tensor of dimension 2");
  EXPECT_KILN_ERROR(x23().index({Ellipsis, 0, 0, 0}), "too many indices for tensor of dimension 2");
  EXPECT_KILN_ERROR(x23().index_put_({0, 0, 0}, 1.0), "too many indices for tensor of dimension 2");
}

TEST(Errors, AdvancedIndexing) {
  // x[torch.tensor([True, False, True])] / x[:, torch.tensor([True, False])]
  EXPECT_KILN_ERROR(x23().index({tensor({true, false, true})}),
                    "The shape of the mask [3] at index 0 does not match the shape of the indexed "
                    "tensor [2, 3] at index 0");
  EXPECT_KILN_ERROR(x23().index({Slice(), tensor({true, false})}),
                    "The shape of the mask [2] at index 0 does not match the shape of the indexed "
                    "tensor [2, 3] at index 1");
  // x[torch.tensor([0, 5])] / x[torch.tensor([0, -3])]
  EXPECT_KILN_ERROR(x23().index({tensor({0, 5})}),
                    "index 5 is out of bounds for dimension 0 with size 2");
  EXPECT_KILN_ERROR(x23().index({tensor({0, -3})}),
                    "index -3 is out of bounds for dimension 0 with size 2");
  // torch numbers the dimension by the index tensor's position among the index tensors:
  // x[:, torch.tensor([3])] says dimension 0; x3[torch.tensor([0]), 1, torch.tensor([5])] says 1
  EXPECT_KILN_ERROR(x23().index({Slice(), tensor({3})}),
                    "index 3 is out of bounds for dimension 0 with size 3");
  EXPECT_KILN_ERROR(ones({2, 3, 4}).index({tensor({0}), 1, tensor({5})}),
                    "index 5 is out of bounds for dimension 1 with size 4");
  EXPECT_KILN_ERROR(x23().index({tensor({0.0f})}), "tensors used as indices must be long");
  EXPECT_KILN_ERROR(x23().index({tensor({0, 1}), tensor({0, 1, 2})}),
                    "shape mismatch: indexing tensors could not be broadcast together with shapes "
                    "[2], [3]");
}

TEST(Errors, IndexPut) {
  // x.index_put_((torch.tensor([0, 5]),), torch.tensor(1.))
  EXPECT_KILN_ERROR(x23().index_put_({tensor({0, 5})}, tensor(1.0f)),
                    "index 5 is out of bounds for dimension 0 with size 2");
  // x[torch.tensor([0, 1])] = torch.ones(3, 2)
  EXPECT_KILN_ERROR(x23().index_put_({tensor({0, 1})}, ones({3, 2})),
                    "shape mismatch: value tensor of shape [3, 2] cannot be broadcast to indexing "
                    "result of shape [2, 3]");
  // x[torch.tensor([0, 1])] = torch.tensor([5, 6]) on float32: dtypes must match
  EXPECT_KILN_ERROR(ones({3}).index_put_({tensor({0, 1})}, tensor({5, 6})),
                    "Index put requires the source and destination dtypes match, got Float for the "
                    "destination and Long for the source.");
  // x[0] = torch.ones(2) (basic indices copy, with expand's wording)
  EXPECT_KILN_ERROR(x23().index_put_({0}, ones({2})),
                    "The expanded size of the tensor (3) must match the existing size (2) at "
                    "non-singleton dimension 0.  Target sizes: [3].  Tensor sizes: [2]");
  // x[0] = torch.ones(2, 3)
  EXPECT_KILN_ERROR(x23().index_put_({0}, ones({2, 3})),
                    "the number of sizes provided (1) must be greater or equal to the number of "
                    "dimensions in the tensor (2)");
}

TEST(Errors, ThrownAtTheCallEvenWithPendingInputs) {
  // The index tensor is pending (computed lazily): its values are still checked at the call.
  Tensor idx = arange(3) + 3;
  EXPECT_KILN_ERROR(x23().index({Slice(), idx}),
                    "index 3 is out of bounds for dimension 0 with size 3");
  Tensor mask = x23() > 2.0;
  EXPECT_KILN_ERROR(x23().t().index({mask}), "The shape of the mask [2, 3] at index 0");
  // A failed op leaves its operands untouched and usable.
  Tensor a = x23();
  EXPECT_KILN_ERROR(a.add_(ones({4})), "must match the size of tensor b (4)");
  EXPECT_KILN_ERROR(a.index_put_({tensor({7})}, 0.0), "index 7 is out of bounds");
  EXPECT_EQ(a.tolist<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
}

TEST(Errors, AreKilnErrorsDerivedFromRuntimeError) {
  try {
    (void)(ones({2}) + ones({3}));
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("must match the size"));
    EXPECT_NE(dynamic_cast<const Error*>(&e), nullptr);
  }
}

}  // namespace
}  // namespace kiln
