// format_tensor against the text PyTorch 1.13 prints for the same tensors (cases.inc, written
// by make_cases.py), plus the checks on malformed input that PyTorch has no counterpart for.
#include "kiln/frontend/format.h"

#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/runtime/error.h"

namespace kiln {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

struct FormatCase {
  const char* name;
  DType dtype;
  std::vector<int64_t> sizes;
  std::vector<double> floats;
  std::vector<int64_t> ints;
  const char* device;
  bool requires_grad;
  const char* expected;
};

const FormatCase kCases[] = {
#include "cases.inc"
};

class PyTorchPrint : public ::testing::TestWithParam<size_t> {};

TEST_P(PyTorchPrint, MatchesPyTorch) {
  const FormatCase& c = kCases[GetParam()];
  TensorPrintInput input;
  input.dtype = c.dtype;
  input.sizes = Shape(c.sizes.begin(), c.sizes.end());
  input.floats = c.floats;
  input.ints = c.ints;
  input.device = Device(c.device);
  input.requires_grad = c.requires_grad;
  EXPECT_EQ(format_tensor(input), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, PyTorchPrint, ::testing::Range<size_t>(0, std::size(kCases)),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return std::string(kCases[info.param].name);
                         });

TEST(FormatTensor, CoversEnoughCases) { EXPECT_GE(std::size(kCases), 400u); }

TEST(FormatTensor, NegativeNaNPrintsAsPythonDoes) {
  TensorPrintInput input;
  input.dtype = float64;
  input.sizes = {2};
  input.floats = {-kNaN, 1.5};
  EXPECT_EQ(format_tensor(input), "tensor([   nan, 1.5000], dtype=float64)");
}

TEST(FormatTensor, Float32ValuesAreRoundedToFloat32) {
  // 0.1 as a double is not a float32; PyTorch would hold and print the float32 nearest to it.
  TensorPrintInput input;
  input.sizes = {2};
  input.floats = {0.1, 1e-4};
  EXPECT_EQ(format_tensor(input), "tensor([1.0000e-01, 1.0000e-04])");
}

TEST(FormatTensor, Float32OverflowRoundsAsTorchTensorDoes) {
  // The first double that rounds to float32 infinity, the one below it, and a far one.
  TensorPrintInput input;
  input.sizes = {4};
  input.floats = {0x1.ffffffp127, std::nextafter(0x1.ffffffp127, 0.0), -1e300, 1.0};
  EXPECT_EQ(format_tensor(input), "tensor([       inf, 3.4028e+38,       -inf, 1.0000e+00])");
}

TEST(FormatTensor, OtherCudaDevicesShowTheirIndex) {
  TensorPrintInput input;
  input.dtype = int32;
  input.sizes = {2};
  input.ints = {1, 2};
  input.device = Device("cuda:1");
  EXPECT_EQ(format_tensor(input), "tensor([1, 2], device='cuda:1', dtype=int32)");
}

TEST(FormatTensor, RejectsValueCountMismatch) {
  TensorPrintInput input;
  input.sizes = {2, 2};
  input.floats = {1, 2, 3};
  EXPECT_THROW(format_tensor(input), Error);
}

TEST(FormatTensor, RejectsValuesInTheWrongVector) {
  TensorPrintInput input;
  input.dtype = int64;
  input.sizes = {2};
  input.floats = {1, 2};
  EXPECT_THROW(format_tensor(input), Error);
}

TEST(FormatTensor, RejectsNegativeSizes) {
  TensorPrintInput input;
  input.sizes = {-1};
  EXPECT_THROW(format_tensor(input), Error);
}

}  // namespace
}  // namespace kiln
