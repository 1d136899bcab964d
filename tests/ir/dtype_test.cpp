#include "kiln/ir/dtype.h"

#include <sstream>

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(DType, PrintsPyTorchNames) {
  std::ostringstream os;
  os << float64 << ' ' << boolean << ' ' << bfloat16;
  EXPECT_EQ(os.str(), "float64 bool bfloat16");
}

TEST(DType, ShortNamesRoundTrip) {
  for (DType t : kAllDTypes) EXPECT_EQ(dtype_from_short_name(short_name(t)), t);
}

// torch.promote_types, checked against PyTorch 1.13.
TEST(DType, PromoteTypesMatchesPyTorch) {
  EXPECT_EQ(promote_types(uint8, int8), int16);
  EXPECT_EQ(promote_types(uint8, int32), int32);
  EXPECT_EQ(promote_types(boolean, uint8), uint8);
  EXPECT_EQ(promote_types(int64, float16), float16);
  EXPECT_EQ(promote_types(float16, bfloat16), float32);
  EXPECT_EQ(promote_types(int32, int64), int64);
  EXPECT_EQ(promote_types(float32, float64), float64);
  for (DType a : kAllDTypes)
    for (DType b : kAllDTypes) EXPECT_EQ(promote_types(a, b), promote_types(b, a));
}

}  // namespace
}  // namespace kiln
