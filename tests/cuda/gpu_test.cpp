// The CUDA backend on a device: transfers, every elementwise op and reduction against the CPU
// path, matmul, library steps, random graphs against the interpreter, and the
// allocator's statistics. Every test skips when cuda_is_available() is false (no driver or no
// GPU), and the device-free behaviour (clear errors) is tested here too.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "cuda/gpu_skip.h"
#include "interp/random_graph.h"
#include "kiln/backends/cuda/cuda_backend.h"
#include "kiln/backends/interp/interpreter.h"
#include "kiln/kiln.h"
#include "kiln/runtime/cuda/driver.h"

namespace kiln {
namespace {

TEST(CudaDevice, UnavailableIsAClearError) {
  if (cuda_is_available()) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_EQ(cuda_device_count(), 0);
  const Tensor x = arange(4, float32);
  try {
    (void)x.to(cuda);
    FAIL() << "expected kiln::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA is not available"), std::string::npos) << e.what();
  }
  EXPECT_THROW(zeros({2}, {.device = cuda}), Error);
  EXPECT_EQ(memory_stats(cuda).bytes_in_use, 0);
}

TEST(CudaDevice, RoundTripAndPrinting) {
  GPU_OR_SKIP();
  const Tensor x = arange(6, float32).reshape({2, 3});
  const Tensor g = x.cuda();
  EXPECT_EQ(g.device(), cuda);
  EXPECT_TRUE(equal(g.cpu(), x));
  std::ostringstream os;
  os << g;
  EXPECT_EQ(os.str(), "tensor([[0., 1., 2.],\n        [3., 4., 5.]], device='cuda:0')");
  EXPECT_EQ((g.sum() * 2).item<float>(), 30.0f);
  EXPECT_THROW(g.data_ptr<float>(), Error);
}

TEST(CudaDevice, MixingDevicesThrowsPyTorchsMessage) {
  GPU_OR_SKIP();
  const Tensor a = ones({2}), b = ones({2}, {.device = cuda});
  try {
    (void)(b + a);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "Expected all tensors to be on the same device, but found at least two devices, "
              "cuda:0 and cpu!");
  }
}

TEST(CudaDevice, CreationOnDevice) {
  GPU_OR_SKIP();
  EXPECT_EQ(zeros({3}, {.device = cuda}).device(), cuda);
  EXPECT_EQ(full({2, 2}, 7.0, {.device = cuda}).sum().item<float>(), 28.0f);
  const Tensor r = randn({4, 4}, {.device = cuda, .requires_grad = true});
  EXPECT_TRUE(r.requires_grad());
  EXPECT_EQ(r.device(), cuda);
  EXPECT_EQ(tensor({1, 2, 3}, {.device = cuda}).tolist<int64_t>(), (std::vector<int64_t>{1, 2, 3}));
}

// Every unary op on floating dtypes, compared with the CPU result.
TEST(CudaKernels, ElementwiseMatchesCpu) {
  GPU_KERNELS_OR_SKIP();
  for (DType t : {float32, float64, float16, bfloat16}) {
    const Tensor x = (arange(-20, 20, 1, t) / 7);
    const Tensor gx = x.cuda();
    const std::vector<std::pair<const char*, Tensor (*)(const Tensor&)>> ops = {
        {"exp", [](const Tensor& v) { return v.exp(); }},
        {"sin", [](const Tensor& v) { return v.sin(); }},
        {"tanh", [](const Tensor& v) { return v.tanh(); }},
        {"sigmoid", [](const Tensor& v) { return v.sigmoid(); }},
        {"abs", [](const Tensor& v) { return v.abs(); }},
        {"relu", [](const Tensor& v) { return v.relu(); }},
        {"chain", [](const Tensor& v) { return ((v * 2 + 1).exp() * v); }},
    };
    for (const auto& [name, f] : ops) {
      SCOPED_TRACE(name);
      EXPECT_TRUE(allclose(f(gx).cpu().to(float64), f(x).to(float64), 1e-2, 1e-5));
    }
  }
  for (DType t : {int8, int16, int32, int64, uint8}) {
    const Tensor x = arange(-50, 50, 3).to(t);
    EXPECT_TRUE(equal((x.cuda() * 7 + 3).cpu(), x * 7 + 3));
  }
}

TEST(CudaKernels, ReductionsMatchCpu) {
  GPU_KERNELS_OR_SKIP();
  manual_seed(0);
  const Tensor x = randn({37, 1000});
  const Tensor g = x.cuda();
  EXPECT_TRUE(allclose(g.sum(1).cpu(), x.sum(1), 1e-4, 1e-4));
  EXPECT_TRUE(allclose(g.sum(0).cpu(), x.sum(0), 1e-4, 1e-4));
  EXPECT_TRUE(equal(g.max().cpu(), x.max()));
  EXPECT_TRUE(equal(g.argmax(1).cpu(), x.argmax(1)));
  EXPECT_TRUE(equal(g.argmin(0).cpu(), x.argmin(0)));
  EXPECT_NEAR(g.mean().item<float>(), x.mean().item<float>(), 1e-5);
  // NaN is sticky and argmax reports the first NaN.
  const Tensor n = tensor(std::vector<float>{1.0f, NAN, 3.0f, NAN});
  EXPECT_TRUE(std::isnan(n.cuda().max().item<float>()));
  EXPECT_EQ(n.cuda().argmax(0).item<int64_t>(), 1);
  // Ties keep the first index.
  EXPECT_EQ(tensor({2, 5, 5, 1}).cuda().argmax(0).item<int64_t>(), 1);
}

TEST(CudaKernels, SplitReductionsOfLongRows) {
  GPU_KERNELS_OR_SKIP();
  // Few kept points and long rows take the split path (partial states, then a combine).
  const Tensor x = arange(1 << 22, float64) / (1 << 20);
  const Tensor g = x.cuda();
  EXPECT_NEAR(g.sum().item<double>(), x.sum().item<double>(), 1e-6);
  EXPECT_EQ(g.max().item<double>(), x.max().item<double>());
  EXPECT_EQ(g.argmax(0).item<int64_t>(), (1 << 22) - 1);
  const Tensor rows = randn({3, 1 << 20});
  EXPECT_TRUE(allclose(rows.cuda().sum(1).cpu(), rows.sum(1), 1e-4, 1e-3));
  EXPECT_TRUE(equal(rows.cuda().argmin(1).cpu(), rows.argmin(1)));
  // The first NaN of a long row wins argmax and amax; ties keep the first index.
  Tensor n = zeros({1 << 21});
  n.index_put_({int64_t{1500000}}, NAN);
  n.index_put_({int64_t{1900000}}, NAN);
  EXPECT_EQ(n.cuda().argmax(0).item<int64_t>(), 1500000);
  EXPECT_TRUE(std::isnan(n.cuda().max().item<float>()));
  EXPECT_EQ(zeros({1 << 21}).cuda().argmax(0).item<int64_t>(), 0);
  EXPECT_EQ(ones({1 << 21}, int64).cuda().sum().item<int64_t>(), int64_t{1} << 21);
}

TEST(CudaKernels, SiblingSumsGiveTheBitsOfEachSumAlone) {
  GPU_KERNELS_OR_SKIP();
  // sum(x), sum(x * y), sum(y * y) computed together run as one kernel with three
  // accumulators (passes/group_kernels.h); each must be what the kernel of that sum alone
  // gives, on the plain path (many rows) and the split one (few long rows).
  manual_seed(3);
  for (const Shape& shape : {Shape{37, 1000}, Shape{3, 1 << 20}}) {
    const Tensor x = randn(shape, float64).cuda(), y = randn(shape, float64).cuda();
    const Tensor a = x.sum(1), b = (x * y).sum(1), c = (y * y).sum(1);
    eval(a, b, c);
    const Tensor alone[] = {x.sum(1), (x * y).sum(1), (y * y).sum(1)};
    const Tensor* together[] = {&a, &b, &c};
    for (int i = 0; i < 3; ++i) {
      eval(alone[i]);
      EXPECT_TRUE(equal(together[i]->cpu(), alone[i].cpu())) << "sum " << i;
    }
    EXPECT_TRUE(allclose(b.cpu(), (x.cpu() * y.cpu()).sum(1), 1e-9, 1e-9));
  }
}

TEST(CudaKernels, IntegerDivisionByZeroThrows) {
  GPU_KERNELS_OR_SKIP();
  ir::Graph g;
  const ir::TensorType type{int64, {3}};
  const ir::ValueId a = g.add_input(type), b = g.add_input(type);
  const absl::StatusOr<ir::ValueId> q = g.add(ir::Op::div, {a, b}, ir::NoAttrs{});
  ASSERT_TRUE(q.ok()) << q.status();
  g.set_outputs({*q});
  auto& backend = backends::cuda::cuda_backend(0);
  const Tensor x = tensor({7, -7, 9}), y = tensor({2, 2, 0}), z = tensor({2, 2, -1});
  auto up = [](const Tensor& t) {
    auto host = runtime::Buffer::allocate(24);
    std::memcpy(host->data(), t.data_ptr<int64_t>(), 24);
    return backends::cuda::upload(host, cuda);
  };
  try {
    backend.run(g, {up(x), up(y)});
    FAIL() << "expected ZeroDivisionError";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ZeroDivisionError"), std::string::npos) << e.what();
  }
  const auto out = backends::cuda::download(backend.run(g, {up(x), up(z)})[0]);
  const auto* v = static_cast<const int64_t*>(out->data());
  EXPECT_EQ(v[0], 3);
  EXPECT_EQ(v[1], -3);  // truncation toward zero, like the interpreter
  EXPECT_EQ(v[2], -9);
}

TEST(CudaMatmul, MatchesCpuForFloatTypes) {
  GPU_KERNELS_OR_SKIP();
  manual_seed(1);
  for (DType t : {float32, float64, float16, bfloat16}) {
    const Tensor a = randn({67, 130}).to(t), b = randn({130, 45}).to(t);
    const double tol = t == float32 || t == float64 ? 1e-4 : 5e-2;
    EXPECT_TRUE(
        allclose(matmul(a.cuda(), b.cuda()).cpu().to(float64), matmul(a, b).to(float64), tol, tol))
        << t;
    // Transposed operands and an epilogue (bias + relu).
    const Tensor bias = randn({67}).to(t);
    const Tensor want = (matmul(b.t(), a.t()) + bias).relu();
    const Tensor got = (matmul(b.cuda().t(), a.cuda().t()) + bias.cuda()).relu();
    EXPECT_TRUE(allclose(got.cpu().to(float64), want.to(float64), tol, tol)) << t;
  }
  const Tensor ba = randn({3, 20, 30}), bb = randn({3, 30, 10});
  EXPECT_TRUE(allclose(bmm(ba.cuda(), bb.cuda()).cpu(), bmm(ba, bb), 1e-4, 1e-4));
}

TEST(CudaMatmul, MmaSyncTensorCores) {
  TENSOR_CORES_OR_SKIP();
  manual_seed(1);
  // Shapes the mma.sync tensor-core kernel takes (k a multiple of 32, n of 8; m free), batched
  // too; KILN_CUDA_MMA=sync keeps sm_90 devices off the wgmma kernel (gpu_matmul_test.cpp).
  setenv("KILN_CUDA_MMA", "sync", 1);
  for (DType t : {float16, bfloat16}) {
    const auto before = backends::cuda::cuda_backend_stats().mma_matmuls;
    const Tensor a = randn({2, 200, 256}).to(t), b = randn({2, 256, 136}).to(t);
    const Tensor want = matmul(a.to(float32), b.to(float32));
    const Tensor got = matmul(a.cuda(), b.cuda()).cpu().to(float32);
    EXPECT_TRUE(allclose(got, want, 2e-2, 0.5))
        << t << " max error " << (got - want).abs().max().item<float>();
    EXPECT_EQ(backends::cuda::cuda_backend_stats().mma_matmuls, before + 1) << t;
  }
  unsetenv("KILN_CUDA_MMA");
}

TEST(CudaLibrary, IndexingCatAndInPlaceWrites) {
  GPU_KERNELS_OR_SKIP();
  const Tensor x = arange(12, float32).reshape({3, 4});
  const Tensor g = x.cuda();
  const Tensor idx = tensor({2, 0});
  EXPECT_TRUE(equal(g.index({idx.cuda()}).cpu(), x.index({idx})));
  const uint64_t copies = backends::cuda::cuda_backend_stats().copy_steps;
  EXPECT_TRUE(equal(cat({g, g}, 0).cpu(), cat({x, x}, 0)));
  EXPECT_TRUE(equal(cat({g.t(), g.t()}, 1).cpu(), cat({x.t(), x.t()}, 1)));
  EXPECT_GE(backends::cuda::cuda_backend_stats().copy_steps, copies + 2);
  Tensor h = x.clone().cuda();
  h.index_put_({Slice(0, 2)}, 0.0);
  h.add_(1);
  Tensor want = x.clone();
  want.index_put_({Slice(0, 2)}, 0.0);
  want.add_(1);
  EXPECT_TRUE(equal(h.cpu(), want));
  // A write through a strided view (every other column) of a realized CUDA tensor.
  Tensor k = x.clone().cuda();
  Tensor kw = x.clone();
  k.index({Slice(), Slice(None, None, 2)}).mul_(-1);
  kw.index({Slice(), Slice(None, None, 2)}).mul_(-1);
  EXPECT_TRUE(equal(k.cpu(), kw));
}

TEST(CudaAutograd, BackwardAndOptimizerOnDevice) {
  GPU_OR_SKIP();
  manual_seed(2);
  nn::Linear model(8, 3);
  nn::Linear reference(8, 3);
  reference.weight().set_data(model.weight().detach().clone());
  reference.bias().set_data(model.bias().detach().clone());
  model.to(cuda);
  const Tensor x = randn({16, 8}), y = randn({16, 3});
  optim::SGD opt(model.parameters(), 0.1);
  optim::SGD ref_opt(reference.parameters(), 0.1);
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    ref_opt.zero_grad();
    Tensor loss = nn::mse_loss(model(x.cuda()), y.cuda());
    Tensor ref_loss = nn::mse_loss(reference(x), y);
    loss.backward();
    ref_loss.backward();
    opt.step();
    ref_opt.step();
    EXPECT_NEAR(loss.item<float>(), ref_loss.item<float>(), 1e-4);
  }
  EXPECT_TRUE(allclose(model.weight().cpu(), reference.weight(), 1e-4, 1e-5));
}

// The first element whose bytes differ, -1 when none. NaNs of floating dtypes count as equal
// whatever their bits: the GPU's arithmetic returns its canonical NaN (0x7fffffff) where the
// x86 interpreter propagates operand payloads or returns its default NaN (0xffc00000).
int64_t first_difference(DType t, const void* a, const void* b, size_t nbytes) {
  const size_t size = itemsize(t);
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  auto is_nan = [&](const unsigned char* p) {
    uint64_t bits = 0;
    std::memcpy(&bits, p, size);
    if (t == float32) return (bits & 0x7fffffffu) > 0x7f800000u;
    if (t == float64) return (bits & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
    if (t == float16) return (bits & 0x7fffu) > 0x7c00u;
    if (t == bfloat16) return (bits & 0x7fffu) > 0x7f80u;
    return false;
  };
  for (size_t i = 0; i < nbytes; i += size) {
    if (std::memcmp(x + i, y + i, size) == 0) continue;
    if (is_nan(x + i) && is_nan(y + i)) continue;
    return static_cast<int64_t>(i / size);
  }
  return -1;
}

TEST(CudaRandomGraphs, MatchTheInterpreter) {
  GPU_KERNELS_OR_SKIP();
  testing::RandomGraphOptions options;
  options.exact_float_math = true;
  backends::interp::Interpreter interpreter;
  backends::cuda::CudaBackend& backend = backends::cuda::cuda_backend(0);
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE(seed);
    const testing::RandomGraph g = testing::random_graph(seed, options);
    const std::vector<backends::BufferPtr> inputs = testing::random_inputs(g, seed);
    std::vector<backends::BufferPtr> device_inputs;
    for (const auto& b : inputs) device_inputs.push_back(backends::cuda::upload(b, cuda));
    std::vector<backends::BufferPtr> want, got;
    try {
      want = interpreter.run(g.graph, inputs);
    } catch (const Error&) {
      continue;  // e.g. an integer division by zero: the CUDA backend must throw too
    }
    got = backend.run(g.graph, device_inputs);
    ASSERT_EQ(want.size(), got.size());
    for (size_t i = 0; i < want.size(); ++i) {
      const backends::BufferPtr host = backends::cuda::download(got[i]);
      ASSERT_EQ(host->nbytes(), want[i]->nbytes());
      const DType t = g.graph.node(g.graph.outputs()[i]).type.dtype;
      EXPECT_EQ(first_difference(t, host->data(), want[i]->data(), host->nbytes()), -1)
          << "output " << i << " (" << t << ") of\n"
          << g.graph;
    }
  }
}

TEST(CudaDevice, LikeFunctionsKeepTheDevice) {
  GPU_OR_SKIP();
  const Tensor g = ones({2, 3}, {.device = cuda});
  EXPECT_EQ(zeros_like(g).device(), cuda);
  EXPECT_EQ(ones_like(g, float64).device(), cuda);
  EXPECT_EQ(full_like(g, 3).device(), cuda);
  EXPECT_EQ(zeros_like(g, {.device = cpu}).device(), cpu);
}

TEST(CudaCompile, CompiledFunctionMatchesEager) {
  GPU_OR_SKIP();
  auto f = compile([](const Tensor& x) { return ((x * 2 + 1).exp() * x).sum(); });
  const Tensor x = arange(100, float32) / 100;
  const float want = ((x * 2 + 1).exp() * x).sum().item<float>();
  EXPECT_NEAR(f(x.cuda()).item<float>(), want, 1e-3);
  EXPECT_NEAR(f((x + 1).cuda()).item<float>(),
              ((x + 1) * 2 + 1).exp().mul(x + 1).sum().item<float>(), 1e-1);
}

TEST(CudaMemory, StatsTrackDeviceBuffers) {
  GPU_OR_SKIP();
  empty_cache(cuda);
  const int64_t before = memory_stats(cuda).bytes_in_use;
  {
    const Tensor big = zeros({1 << 20}, {.device = cuda});
    eval({big});
    EXPECT_GE(memory_stats(cuda).bytes_in_use - before, int64_t{4} << 20);
    EXPECT_GE(memory_stats(cuda).peak_bytes_in_use, int64_t{4} << 20);
  }
  EXPECT_EQ(memory_stats(cuda).bytes_in_use, before);
  EXPECT_GE(memory_stats(cuda).bytes_cached, int64_t{4} << 20);
  empty_cache(cuda);
  EXPECT_EQ(memory_stats(cuda).bytes_cached, 0);
}

TEST(CudaTransfers, LargeCopiesUsePinnedStaging) {
  GPU_OR_SKIP();
  const Tensor x = arange(5'000'000, float32);  // 20 MB: three staging chunks
  EXPECT_TRUE(equal(x.cuda().cpu(), x));
}

}  // namespace
}  // namespace kiln
