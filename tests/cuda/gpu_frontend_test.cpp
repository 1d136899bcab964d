// The frontend on CUDA tensors: the default device, gradients through device transfers, CPU
// 0-d tensors acting as scalars next to CUDA tensors (as in PyTorch), losses and saved
// programs on the device. Every Cuda* test skips without a GPU (tools/gpu-check.sh counts a
// skip there as a failure); DefaultDevice* tests run everywhere.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "cuda/gpu_skip.h"
#include "frontend/frontend_test_util.h"
#include "kiln/kiln.h"
#include "kiln/runtime/cuda/driver.h"

namespace kiln {
namespace {

// Sets the default device for one test and restores cpu after it, even when it fails.
struct DefaultDeviceScope {
  explicit DefaultDeviceScope(Device d) { set_default_device(d); }
  ~DefaultDeviceScope() { set_default_device(cpu); }
};

using testing::error_of;

TEST(DefaultDevice, IsCpuUntilSet) {
  EXPECT_EQ(get_default_device(), cpu);
  {
    DefaultDeviceScope scope(Device("cuda:1"));
    EXPECT_EQ(get_default_device(), Device("cuda:1"));
  }
  EXPECT_EQ(get_default_device(), cpu);
  EXPECT_EQ(zeros({2}).device(), cpu);
}

TEST(DefaultDevice, CudaWithoutGpuFailsAtCreation) {
  if (cuda_is_available()) GTEST_SKIP() << "a CUDA device is present";
  DefaultDeviceScope scope(cuda);
  EXPECT_THAT(error_of([] { (void)zeros({2}); }), ::testing::HasSubstr("CUDA is not available"));
  EXPECT_THAT(error_of([] {
                (void)tensor({1.0, 2.0});
              }),
              ::testing::HasSubstr("CUDA is not available"));
  EXPECT_THAT(error_of([] { (void)randn({2}); }), ::testing::HasSubstr("CUDA is not available"));
  // Every creation path honours the default device.
  const std::vector<std::function<void()>> creations = {
      [] {
        (void)tensor(std::vector<int64_t>{1, 2});
      },
      [] { (void)tensor(2.5); },
      [] { (void)arange(3); },
      [] { (void)linspace(0, 1, 3); },
      [] { (void)eye(2); },
      [] { (void)full({2}, 1.0); },
      [] { (void)empty({2}); },
      [] { (void)ones({2}); },
      [] { (void)rand({2}); },
      [] { (void)randint(5, {2}); },
      [] { (void)randperm(4); },
      [] { nn::Linear m(2, 2); },
  };
  for (size_t i = 0; i < creations.size(); ++i)
    EXPECT_THAT(error_of(creations[i]), ::testing::HasSubstr("CUDA is not available")) << i;
  // Caller memory and explicit devices are not affected.
  float v[2] = {1, 2};
  EXPECT_EQ(from_blob(v, {2}, float32).device(), cpu);
  EXPECT_EQ(zeros({2}, {.device = cpu}).device(), cpu);
  // Tensors on the CPU keep working: ops follow their operands, not the default.
  const Tensor x = arange(4, {.device = cpu});
  EXPECT_EQ((x * 2).device(), cpu);
  EXPECT_EQ(zeros_like(x).device(), cpu);
}

TEST(CudaDefaultDevice, CreationAndModulesFollowIt) {
  GPU_OR_SKIP();
  DefaultDeviceScope scope(cuda);
  EXPECT_EQ(tensor({1.0, 2.0}).device(), cuda);
  EXPECT_EQ(tensor(3).device(), cuda);
  EXPECT_EQ(zeros({2, 3}).device(), cuda);
  EXPECT_EQ(arange(5).device(), cuda);
  EXPECT_EQ(linspace(0, 1, 5).device(), cuda);
  EXPECT_EQ(randn({3}).device(), cuda);
  EXPECT_EQ(full_like(zeros({2}, {.device = cpu}), 1.0, float64).device(), cpu);
  nn::Linear m(4, 2);
  EXPECT_EQ(m.weight().device(), cuda);
  EXPECT_EQ(m.bias().device(), cuda);
  const Tensor y = m(ones({3, 4}));
  EXPECT_EQ(y.device(), cuda);
  EXPECT_EQ(y.sizes(), (Shape{3, 2}));
  float v[2] = {1, 2};
  EXPECT_EQ(from_blob(v, {2}, float32).device(), cpu);
}

TEST(CudaAutograd, GradientsFlowThroughTransfers) {
  GPU_OR_SKIP();
  // cpu leaf -> cuda math -> scalar on cuda.
  const Tensor x = tensor({1.0, -2.0, 3.0}, float64).requires_grad_();
  const Tensor y = (x.cuda() * x.cuda() * 3).sum();
  y.backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().device(), cpu);
  EXPECT_EQ(x.grad().tolist<double>(), (std::vector<double>{6.0, -12.0, 18.0}));
  // cuda leaf -> loss computed on the cpu.
  const Tensor w = tensor({0.5, 1.5}, {.dtype = float64, .device = cuda}).requires_grad_();
  (w.cpu().pow(2).sum() + w.sum().cpu()).backward();
  EXPECT_EQ(w.grad().device(), cuda);
  EXPECT_EQ(w.grad().tolist<double>(), (std::vector<double>{2.0, 4.0}));
  // Transfers record nothing without grad mode, and detach() cuts them.
  {
    NoGradGuard off;
    EXPECT_FALSE(x.cuda().requires_grad());
  }
  EXPECT_FALSE(x.detach().cuda().requires_grad());
  EXPECT_TRUE(x.cuda().requires_grad());
  // A transfer saves nothing: a second backward through it alone works, as in PyTorch.
  const Tensor z = x.cuda();
  z.sum().backward();
  z.sum().backward();
  EXPECT_EQ(x.grad().tolist<double>(), (std::vector<double>{8.0, -10.0, 20.0}));
}

TEST(CudaAutograd, SecondOrderGradientsThroughTransfers) {
  GPU_OR_SKIP();
  const Tensor x = tensor({2.0}, float64).requires_grad_();
  const Tensor y = x.cuda().pow(3).sum();
  const Tensor g = grad({y}, {x}, {}, /*create_graph=*/true)[0];
  EXPECT_EQ(g.device(), cpu);
  EXPECT_EQ(g.item<double>(), 12.0);  // 3 x^2
  const Tensor gg = grad({g.sum()}, {x})[0];
  EXPECT_EQ(gg.item<double>(), 12.0);  // 6 x
}

TEST(CudaScalars, CpuZeroDimTensorsMixWithCudaTensors) {
  GPU_OR_SKIP();
  const Tensor a = tensor({1.0f, 2.0f, 3.0f}, {.device = cuda});
  const Tensor s = tensor(2.0f);  // cpu, 0-d
  EXPECT_EQ((a * s).device(), cuda);
  EXPECT_EQ((a * s).tolist<float>(), (std::vector<float>{2, 4, 6}));
  EXPECT_EQ((s - a).tolist<float>(), (std::vector<float>{1, 0, -1}));
  Tensor b = a.clone();
  b.add_(s);
  EXPECT_EQ(b.tolist<float>(), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(where(a > 1.5, a, s).tolist<float>(), (std::vector<float>{2, 2, 3}));
  EXPECT_EQ(where(a > 1.5, a, 0.0).device(), cuda);
  EXPECT_EQ(where(a > 1.5, 1.0, 0.0).tolist<float>(), (std::vector<float>{0, 1, 1}));
  // An in-place op keeps its tensor's device: a CUDA 0-d operand of a CPU tensor is refused.
  EXPECT_EQ(error_of([] { (void)tensor(1.0f).add_(tensor(2.0f, {.device = cuda})); }),
            "Expected all tensors to be on the same device, but found at least two devices, "
            "cpu and cuda:0!");
  // A CPU tensor with dims is not a scalar: PyTorch's message.
  EXPECT_EQ(error_of([&] {
              (void)(a + tensor({1.0f, 1.0f, 1.0f}));
            }),
            "Expected all tensors to be on the same device, but found at least two devices, "
            "cuda:0 and cpu!");
}

TEST(CudaIndexing, CpuIndicesAndScalarValues) {
  GPU_OR_SKIP();
  const Tensor a = arange(10, {.dtype = float32, .device = cuda});
  const Tensor idx = tensor({7, 1, 1});  // cpu indices, as PyTorch allows
  EXPECT_EQ(a.index({idx}).device(), cuda);
  EXPECT_EQ(a.index({idx}).tolist<float>(), (std::vector<float>{7, 1, 1}));
  Tensor b = a.clone();
  b.index_put_({idx}, tensor(-1.0f));  // cpu 0-d value
  EXPECT_EQ(b.index({tensor({0, 1, 7})}).tolist<float>(), (std::vector<float>{0, -1, -1}));
  EXPECT_EQ(b.index({a > 7.5}).tolist<float>(), (std::vector<float>{8, 9}));
  EXPECT_EQ(a.index({tensor(true)}).sizes(), (Shape{1, 10}));
  // Indices on another device than a cpu tensor are refused.
  EXPECT_EQ(error_of([&] { (void)arange(4).index({tensor({1}, {.device = cuda})}); }),
            "indices should be either on cpu or on the same device as the indexed tensor (cpu)");
}

TEST(CudaLosses, CrossEntropyAndNllOnTheDeviceMatchCpu) {
  GPU_OR_SKIP();
  manual_seed(3);
  const Tensor logits = randn({6, 5}, float64);
  const Tensor target = tensor({0, 4, 2, 2, 1, 3});
  const Tensor cpu_loss = nn::cross_entropy(logits, target);
  const Tensor g = logits.cuda().requires_grad_();
  const Tensor loss = nn::cross_entropy(g, target.cuda());
  EXPECT_EQ(loss.device(), cuda);
  EXPECT_NEAR(loss.item<double>(), cpu_loss.item<double>(), 1e-12);
  loss.backward();
  const Tensor l = logits.clone().requires_grad_();
  nn::cross_entropy(l, target).backward();
  EXPECT_TRUE(allclose(g.grad().cpu(), l.grad(), 1e-12, 1e-12));
}

TEST(CudaJit, SavedProgramLoadsOntoTheDevice) {
  GPU_OR_SKIP();
  manual_seed(1);
  nn::Sequential model{nn::Linear(8, 16), nn::ReLU(), nn::Linear(16, 3)};
  model->eval();
  const Tensor x = randn({5, 8});
  const Tensor want = model->forward(x);
  const std::string path = ::testing::TempDir() + "/kiln_cuda_jit.kiln";
  jit::trace(model, {x}).save(path);
  const jit::CompiledModule loaded = jit::load(path, cuda);
  EXPECT_EQ(loaded.device(), cuda);
  const Tensor got = loaded.forward(x.cuda());
  EXPECT_EQ(got.device(), cuda);
  EXPECT_TRUE(allclose(got.cpu(), want, 1e-5, 1e-6));
  std::remove(path.c_str());
}

TEST(CudaCompile, ProgramsRunOnTheDeviceTheyWrite) {
  GPU_OR_SKIP();
  // No tensor arguments: the program's device is that of what it computes (it used to be the
  // first argument's, else the CPU, whose kernels then read device memory).
  auto make = compile([] { return tensor({1.0f, 2.0f}, {.device = cuda}) * 2 + 1; });
  for (int call = 0; call < 2; ++call) {
    const Tensor y = make();
    EXPECT_EQ(y.device(), cuda);
    EXPECT_EQ(y.cpu().tolist<float>(), std::vector<float>({3, 5}));
  }
  EXPECT_EQ(make.stats().replays, 1);
  // A CPU argument, a CUDA result made from host values inside.
  auto shifted = compile([](const Tensor& n) { return arange(4, {.device = cuda}) + n.numel(); });
  EXPECT_EQ(shifted(ones({3})).cpu().tolist<int64_t>(), std::vector<int64_t>({3, 4, 5, 6}));
  EXPECT_EQ(shifted(ones({3})).device(), cuda);
  // Results on two devices: a graph for each (more in compile_transfers_test.cpp).
  auto both = compile([](const Tensor& x) {
    return std::vector<Tensor>{x * 2, ones({2}, {.device = cpu}) * 3};
  });
  for (int call = 0; call < 2; ++call) {
    const std::vector<Tensor> got = both(ones({2}, {.device = cuda}));
    EXPECT_EQ(got[0].device(), cuda);
    EXPECT_EQ(got[1].device(), cpu);
    EXPECT_EQ(got[0].cpu().tolist<float>(), std::vector<float>({2, 2}));
    EXPECT_EQ(got[1].tolist<float>(), std::vector<float>({3, 3}));
  }
  EXPECT_EQ(both.stats().replays, 1);
}

TEST(CudaDefaultDevice, RandpermDrawsOnTheHost) {
  GPU_OR_SKIP();
  DefaultDeviceScope scope(cuda);
  manual_seed(4);
  const Tensor on_device = randperm(10);
  manual_seed(4);
  const Tensor on_host = randperm(10, {.device = cpu});
  EXPECT_EQ(on_device.device(), cuda);
  EXPECT_EQ(on_host.device(), cpu);
  EXPECT_EQ(on_device.cpu().tolist<int64_t>(), on_host.tolist<int64_t>());
}

}  // namespace
}  // namespace kiln
