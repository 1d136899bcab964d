// The emulated CUDA device (KILN_EMULATE_CUDA, runtime/cuda/emulated_driver.h) behaves like a
// device where it matters to the code above it: its memory is unreadable from the host, copies
// are bounds-checked, kernels are refused with a clear message, and two devices are two
// devices. ctest runs these with KILN_EMULATE_CUDA=2; elsewhere they skip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cuda/gpu_skip.h"
#include "frontend/frontend_test_util.h"
#include "kiln/backends/cuda/cuda_backend.h"
#include "kiln/backends/cuda/host_kernels.h"
#include "kiln/kiln.h"
#include "kiln/runtime/buffer.h"
#include "kiln/runtime/cuda/copy.h"
#include "kiln/runtime/cuda/cuda_allocator.h"
#include "kiln/runtime/cuda/driver.h"
#include "kiln/runtime/cuda/emulated_driver.h"

namespace kiln {
namespace {

namespace rc = runtime::cuda;
using testing::error_of;

#define EMULATED_OR_SKIP() \
  if (!rc::emulated()) GTEST_SKIP() << "needs KILN_EMULATE_CUDA (the emulated CUDA device)"

TEST(EmulatedCuda, DevicesAndProperties) {
  EMULATED_OR_SKIP();
  EXPECT_TRUE(cuda_is_available());
  EXPECT_EQ(rc::device_count(), rc::emulated_device_count());
  EXPECT_EQ(cuda_device_count(), rc::emulated_device_count());
  const rc::DeviceProperties& p = rc::device_properties(0);
  EXPECT_EQ(p.major, 9);
  EXPECT_EQ(p.multiprocessors, 132);
  EXPECT_GT(p.total_memory, size_t{1} << 30);
  const Device past(Device::Type::kCUDA, rc::emulated_device_count());
  EXPECT_THAT(error_of([&] { (void)zeros({2}, {.device = past}); }),
              ::testing::HasSubstr("invalid device ordinal"));
}

TEST(EmulatedCuda, HostReadsOfDeviceMemoryFault) {
  EMULATED_OR_SKIP();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // A device pointer read on the host is a crash on a real GPU; here too.
  EXPECT_DEATH(
      {
        auto buffer = runtime::Buffer::allocate(64, cuda);
        volatile float v = buffer->as<float>()[0];
        (void)v;
      },
      "");
  // The API refuses host pointers to device memory, and copies the values back.
  const Tensor x = ones({16}, {.device = cuda});
  EXPECT_THAT(error_of([&] { (void)x.data_ptr<float>(); }), ::testing::HasSubstr("call .cpu()"));
  EXPECT_EQ(x.sum().item<float>(), 16.0f);
}

TEST(EmulatedCuda, CopiesAreBoundsChecked) {
  EMULATED_OR_SKIP();
  // Past the end of the allocation (the caching allocator's block, as a device would see it).
  auto device = runtime::Buffer::allocate(64, cuda);
  const size_t past = rc::cuda_size_class(64) + 1;
  std::vector<char> host(past, 1);
  rc::copy_host_to_device(device->data(), host.data(), 64, 0);
  EXPECT_THAT(error_of([&] { rc::copy_device_to_host(host.data(), device->data(), past, 0); }),
              ::testing::HasSubstr("invalid argument"));
  // A device address passed where the host's belongs.
  auto other = runtime::Buffer::allocate(64, cuda);
  EXPECT_THAT(error_of([&] { rc::copy_host_to_device(device->data(), other->data(), 64, 0); }),
              ::testing::HasSubstr("invalid argument"));
  rc::copy_device_to_host(host.data(), device->data(), 64, 0);
  EXPECT_EQ(host[0], 1);
}

TEST(EmulatedCuda, KernelsAreRefusedWithAClearMessage) {
  EMULATED_OR_SKIP();
  if (backends::cuda::kernels_run_on_host())
    GTEST_SKIP() << "KILN_EMULATE_CUDA_KERNELS=1 runs the CUDA backend's kernels";
  // The emulated backend runs graphs on the host; the CUDA backend's own kernels cannot run.
  ir::Graph g;
  const ir::ValueId in = g.add_input(ir::TensorType{float32, {4}});
  g.set_outputs({*g.add(ir::Op::neg, {in}, ir::Attrs{})});
  auto buffer = runtime::Buffer::allocate(16, cuda);
  EXPECT_THAT(error_of([&] { (void)backends::cuda::cuda_backend(0).run(g, {buffer}); }),
              ::testing::HasSubstr("kernels do not run on the emulated CUDA device"));
}

TEST(EmulatedCuda, TwoDevicesDoNotMix) {
  EMULATED_OR_SKIP();
  if (rc::emulated_device_count() < 2) GTEST_SKIP() << "needs KILN_EMULATE_CUDA=2";
  const Device second("cuda:1");
  const Tensor a = arange(4, float32).to(cuda);
  const Tensor b = arange(4, float32).to(second);
  EXPECT_EQ(b.device(), second);
  EXPECT_THAT(error_of([&] { (void)(a + b).sum().item<float>(); }),
              ::testing::HasSubstr("Expected all tensors to be on the same device, but found at "
                                   "least two devices, cuda:0 and cuda:1!"));
  // A transfer between them, and a gradient back through it.
  const Tensor x = arange(4, float32).to(cuda).requires_grad_();
  const Tensor y = (x.to(second) * 3).sum();
  y.backward();
  EXPECT_EQ(x.grad().device(), cuda);
  EXPECT_EQ(x.grad().cpu().tolist<float>(), std::vector<float>({3, 3, 3, 3}));
  EXPECT_EQ((b * 2).device(), second);
  EXPECT_EQ((b * 2).cpu().tolist<float>(), std::vector<float>({0, 2, 4, 6}));
}

}  // namespace
}  // namespace kiln
