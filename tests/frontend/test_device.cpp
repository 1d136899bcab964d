// KILN_TEST_DEVICE=cuda runs this suite with that default device: every tensor the tests make
// without naming a device lives there. tools/gpu-check.sh runs the PyTorch-checked op tables
// and the gradient checks this way on the GPU machine (the tests that read host memory or
// count CPU kernels are filtered out there).
#include <gtest/gtest.h>

#include <cstdlib>

#include "kiln/kiln.h"

namespace kiln::testing {
namespace {

class DefaultDeviceEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (const char* device = std::getenv("KILN_TEST_DEVICE")) set_default_device(Device(device));
  }
  void TearDown() override { set_default_device(cpu); }
};

[[maybe_unused]] ::testing::Environment* const environment =
    ::testing::AddGlobalTestEnvironment(new DefaultDeviceEnvironment);

}  // namespace
}  // namespace kiln::testing
