// The Tensor handle's contract from API.md: queries, conversions, type rules of the public
// names (DType, Tensor, Scalar), devices and printing of dtypes/devices.
#include <sstream>
#include <type_traits>

#include "frontend_test_util.h"

namespace kiln {
namespace {

using testing::values;

// DType: a class type, no default constructor, no conversion to or from integers.
static_assert(!std::is_default_constructible_v<DType>);
static_assert(!std::is_convertible_v<int, DType>);
static_assert(!std::is_convertible_v<DType, int>);
static_assert(!std::is_constructible_v<DType, int>);
// Tensor: no implicit constructor from numbers or pointers.
static_assert(!std::is_convertible_v<int, Tensor>);
static_assert(!std::is_convertible_v<double, Tensor>);
static_assert(!std::is_convertible_v<float*, Tensor>);
static_assert(!std::is_convertible_v<void*, Tensor>);
// Scalar: any arithmetic value or bool.
static_assert(std::is_convertible_v<int8_t, Scalar>);
static_assert(std::is_convertible_v<uint64_t, Scalar>);
static_assert(std::is_convertible_v<float, Scalar>);
static_assert(std::is_convertible_v<bool, Scalar>);

template <class T>
std::string printed(const T& v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

TEST(TensorApi, Queries) {
  const Tensor t = zeros({2, 3, 4});
  EXPECT_TRUE(t.defined());
  EXPECT_FALSE(Tensor().defined());
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.size(0), 2);
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.sizes(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(t.stride(-2), 4);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.dtype(), float32);
  EXPECT_EQ(t.device(), cpu);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_TRUE(t.is_floating_point());
  EXPECT_FALSE(t.transpose(0, 2).is_contiguous());
  EXPECT_FALSE(ones({1}, int8).is_floating_point());
  EXPECT_EQ(tensor(5).dim(), 0);
  EXPECT_EQ(tensor(5).numel(), 1);
  EXPECT_EQ(zeros({0, 3}).numel(), 0);
}

TEST(TensorApi, DTypeAndDevicePrintLikeTorchWithoutPrefix) {
  EXPECT_EQ(printed(float64), "float64");
  EXPECT_EQ(printed(boolean), "bool");
  EXPECT_EQ(printed(bfloat16), "bfloat16");
  EXPECT_EQ(printed(cpu), "cpu");
  EXPECT_EQ(printed(cuda), "cuda:0");
  EXPECT_EQ(printed(Device("cuda:1")), "cuda:1");
  EXPECT_EQ(printed(tensor({1, 2}, int32)), "tensor([1, 2], dtype=int32)");
  EXPECT_EQ(printed(ones({2}).t()), "tensor([1., 1.])");
  EXPECT_EQ(printed(arange(6).reshape({2, 3}).t()),
            "tensor([[0, 3],\n        [1, 4],\n        [2, 5]])");
  EXPECT_EQ(printed(Tensor()), "[ Tensor (undefined) ]");
}

TEST(TensorApi, DeviceConversions) {
  const Tensor t = ones({2});
  EXPECT_EQ(t.to(cpu).impl(), t.impl());
  EXPECT_EQ(t.cpu().impl(), t.impl());
  if (!cuda_is_available()) {
    EXPECT_THROW((void)t.cuda(), Error);
    EXPECT_THROW((void)t.to(Device("cuda:1")), Error);
  }
}

TEST(TensorApi, ConversionsReturnNewTensorsOnlyWhenNeeded) {
  const Tensor t = arange(6).reshape({2, 3});
  EXPECT_EQ(t.to(int64).impl(), t.impl());  // as torch: same tensor
  EXPECT_EQ(t.contiguous().impl(), t.impl());
  const Tensor f = t.to(float16);
  EXPECT_EQ(f.dtype(), float16);
  EXPECT_EQ(f.sizes(), t.sizes());
  EXPECT_EQ(values(f), values(t));
  const Tensor c = t.t().contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.strides(), (Shape{2, 1}));
  EXPECT_EQ(c.tolist<int64_t>(), (std::vector<int64_t>{0, 3, 1, 4, 2, 5}));
  const Tensor k = t.t().clone();
  EXPECT_NE(k.impl(), t.impl());
  EXPECT_EQ(k.tolist<int64_t>(), c.tolist<int64_t>());
}

TEST(TensorApi, ZeroDimensionalTensors) {
  const Tensor s = tensor(3.5);
  EXPECT_EQ(s.sizes(), Shape{});
  EXPECT_EQ(s.item<double>(), 3.5);
  EXPECT_EQ((s * 2).item<double>(), 7.0);
  EXPECT_EQ(s.unsqueeze(0).sizes(), (Shape{1}));
  EXPECT_EQ(s.reshape({1, 1}).sizes(), (Shape{1, 1}));
  EXPECT_EQ(s.t().sizes(), Shape{});
  EXPECT_EQ(s.sum().item<double>(), 3.5);
  EXPECT_EQ(s.max().item<double>(), 3.5);
  EXPECT_EQ(s.expand({2, 2}).sizes(), (Shape{2, 2}));
  s.fill_(1);
  EXPECT_EQ(s.item<double>(), 1.0);
  s.add_(tensor(2));
  EXPECT_EQ(s.item<double>(), 3.0);
}

}  // namespace
}  // namespace kiln
