// index, index_put and integer/bool matmul on the device kernels (index_steps.h, matmul_int.cpp)
// against the reference interpreter, bit for bit: random shapes, index counts, negative and
// broadcast indices, strided views, duplicates with and without accumulate (float sums whose
// value depends on the order), every dtype, and out-of-range errors with the interpreter's
// message. Each case also checks that no step took the host path. Skips without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/gpu_skip.h"
#include "interp/random_graph.h"
#include "kiln/backends/cuda/cuda_backend.h"
#include "kiln/backends/interp/element.h"
#include "kiln/backends/interp/interpreter.h"
#include "kiln/kiln.h"
#include "kiln/runtime/cuda/driver.h"

namespace kiln {
namespace {

namespace bc = backends::cuda;
namespace bi = backends::interp;
using backends::BufferPtr;
using ir::ValueId;

// Element values: floats spread over magnitudes whose sums depend on the order of additions;
// integers over the full 64 bits (stores truncate, so narrow types wrap); bool 0/1.
BufferPtr random_buffer(testing::Rng& rng, const ir::TensorType& type) {
  const int64_t n = numel(type.shape);
  BufferPtr b = runtime::Buffer::allocate(static_cast<size_t>(n) * itemsize(type.dtype));
  auto* data = static_cast<std::byte*>(b->data());
  static constexpr double kMagnitudes[] = {1e8, 1.0, 0.25, 3.7e-5, 12345.678, 1e-3};
  bi::visit_dtype(type.dtype, [&]<class S>(std::type_identity<S>) {
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (bi::is_floating_storage<S>) {
        const double v = kMagnitudes[rng.below(6)] * (rng.uniform() * 2 - 1);
        bi::store<S>(data, i, static_cast<bi::compute_t<S>>(v));
      } else {
        bi::store<S>(data, i, static_cast<int64_t>(rng.next()));
      }
    }
  });
  return b;
}

BufferPtr index_buffer(testing::Rng& rng, const Shape& shape, int64_t size) {
  BufferPtr b = runtime::Buffer::allocate(static_cast<size_t>(numel(shape)) * 8);
  auto* v = static_cast<int64_t*>(b->data());
  for (int64_t i = 0; i < numel(shape); ++i) v[i] = size == 0 ? 0 : rng.range(-size, size - 1);
  return b;
}

// A graph and its host inputs.
struct Case {
  ir::Graph graph;
  std::vector<BufferPtr> inputs;
  ValueId input(testing::Rng& rng, const ir::TensorType& type, BufferPtr data = nullptr) {
    inputs.push_back(data ? std::move(data) : random_buffer(rng, type));
    return graph.add_input(type);
  }
  ValueId add(ir::Op op, std::vector<ValueId> in, ir::Attrs attrs) {
    const absl::StatusOr<ValueId> id = graph.add(op, in, std::move(attrs));
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }
};

// Runs `c` on the interpreter and on cuda:0 and compares every output's bytes; no step may
// take the host path, and at least `device_steps` index steps must run on the kernels.
void expect_device_matches(Case& c, uint64_t device_steps) {
  bi::Interpreter interpreter;
  const std::vector<BufferPtr> want = interpreter.run(c.graph, c.inputs);
  std::vector<BufferPtr> device_inputs;
  for (const BufferPtr& b : c.inputs) device_inputs.push_back(bc::upload(b, cuda));
  const bc::CudaBackendStats before = bc::cuda_backend_stats();
  const std::vector<BufferPtr> got = bc::cuda_backend(0).run(c.graph, device_inputs);
  const bc::CudaBackendStats after = bc::cuda_backend_stats();
  EXPECT_EQ(after.host_library_runs, before.host_library_runs);
  EXPECT_GE(after.index_steps, before.index_steps + device_steps);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const BufferPtr host = bc::download(got[i]);
    ASSERT_EQ(host->nbytes(), want[i]->nbytes());
    EXPECT_EQ(std::memcmp(host->data(), want[i]->data(), host->nbytes()), 0)
        << "output " << i << " of\n"
        << c.graph;
  }
}

Shape random_shape(testing::Rng& rng, int64_t rank, int64_t max_size) {
  Shape s;
  for (int64_t d = 0; d < rank; ++d) s.push_back(rng.range(1, max_size));
  return s;
}

// `shape` read through a view: a permuted input (reversed dims), or the input itself.
ValueId viewed(Case& c, testing::Rng& rng, DType t, const Shape& shape) {
  if (shape.size() < 2 || rng.chance(40)) return c.input(rng, {t, shape});
  const Shape reversed(shape.rbegin(), shape.rend());
  Shape perm;
  for (size_t d = 0; d < shape.size(); ++d)
    perm.push_back(static_cast<int64_t>(shape.size() - 1 - d));
  return c.add(ir::Op::permute, {c.input(rng, {t, reversed})}, ir::PermuteAttrs{perm});
}

// k index tensors of shape `idx` for the dims of `shape` from `dim`: plain inputs, inputs
// broadcast along their first dim (expand), or scalar constants when idx is [].
std::vector<ValueId> indices(Case& c, testing::Rng& rng, const Shape& shape, int64_t dim, int64_t k,
                             const Shape& idx) {
  std::vector<ValueId> ids;
  for (int64_t j = 0; j < k; ++j) {
    const int64_t size = shape[static_cast<size_t>(dim + j)];
    if (idx.empty() && rng.chance(40)) {
      ids.push_back(c.graph.add_constant(rng.range(-size, size - 1), int64));
    } else if (!idx.empty() && rng.chance(40)) {
      Shape one = idx;
      one[0] = 1;
      const ValueId small = c.input(rng, {int64, one}, index_buffer(rng, one, size));
      ids.push_back(c.add(ir::Op::expand, {small}, ir::ShapeAttrs{idx}));
    } else {
      ids.push_back(c.input(rng, {int64, idx}, index_buffer(rng, idx, size)));
    }
  }
  return ids;
}

struct Indexing {
  Shape shape;
  int64_t dim = 0, k = 1;
  Shape idx;
};

Indexing random_indexing(testing::Rng& rng, int64_t max_size) {
  Indexing x;
  x.shape = random_shape(rng, rng.range(1, 4), max_size);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  x.dim = rng.range(0, rank - 1);
  x.k = rng.range(1, rank - x.dim);
  x.idx = random_shape(rng, rng.range(0, 2), 6);
  return x;
}

Shape values_shape(const Indexing& x) {
  Shape v(x.shape.begin(), x.shape.begin() + x.dim);
  v.insert(v.end(), x.idx.begin(), x.idx.end());
  v.insert(v.end(), x.shape.begin() + x.dim + x.k, x.shape.end());
  return v;
}

TEST(CudaIndex, GatherMatchesTheInterpreterForEveryDtype) {
  GPU_KERNELS_OR_SKIP();
  testing::Rng rng(11);
  for (DType t : kAllDTypes) {
    for (int trial = 0; trial < 12; ++trial) {
      SCOPED_TRACE(::testing::Message() << name(t) << " trial " << trial);
      Case c;
      const Indexing x = random_indexing(rng, 5);
      std::vector<ValueId> in = {viewed(c, rng, t, x.shape)};
      for (ValueId i : indices(c, rng, x.shape, x.dim, x.k, x.idx)) in.push_back(i);
      c.graph.set_outputs({c.add(ir::Op::index, in, ir::AxisAttrs{x.dim})});
      expect_device_matches(c, 1);
    }
  }
}

// index_put with and without accumulate; few destinations so that duplicates are common.
void put_cases(DType t, bool accumulate, int trials, uint64_t seed) {
  testing::Rng rng(seed);
  for (int trial = 0; trial < trials; ++trial) {
    SCOPED_TRACE(::testing::Message() << name(t) << " trial " << trial);
    Case c;
    const Indexing x = random_indexing(rng, 4);
    std::vector<ValueId> in = {viewed(c, rng, t, x.shape)};
    const Shape v = values_shape(x);
    if (!v.empty() && rng.chance(30)) {  // values broadcast along their first dim
      Shape one = v;
      one[0] = 1;
      in.push_back(c.add(ir::Op::expand, {c.input(rng, {t, one})}, ir::ShapeAttrs{v}));
    } else {
      in.push_back(viewed(c, rng, t, v));
    }
    for (ValueId i : indices(c, rng, x.shape, x.dim, x.k, x.idx)) in.push_back(i);
    c.graph.set_outputs({c.add(ir::Op::index_put, in, ir::IndexPutAttrs{x.dim, accumulate})});
    expect_device_matches(c, 1);
  }
}

TEST(CudaIndex, PutKeepsTheLastWriteForEveryDtype) {
  GPU_KERNELS_OR_SKIP();
  for (DType t : kAllDTypes) put_cases(t, false, 12, 21);
}

TEST(CudaIndex, AccumulateMatchesTheInterpreterForEveryDtype) {
  GPU_KERNELS_OR_SKIP();
  for (DType t : kAllDTypes) put_cases(t, true, 12, 31);
}

// Many contributions per destination (runs longer than the 256-key sort tiles, so the merge
// passes matter) with values whose float32 sum depends on the order.
TEST(CudaIndex, AccumulateAddsInSourceOrder) {
  GPU_KERNELS_OR_SKIP();
  testing::Rng rng(41);
  for (DType t : {float32, float16, bfloat16, float64, int8, int32, boolean}) {
    for (const int64_t positions : {1, 255, 256, 257, 3000, 70000}) {
      SCOPED_TRACE(::testing::Message() << name(t) << " positions " << positions);
      Case c;
      const Shape base_shape = {3, 5, 4};  // dim 1 indexed: destinations (o, run, e)
      const ValueId base = c.input(rng, {t, base_shape});
      const ValueId values = c.input(rng, {t, {3, positions, 4}});
      const ValueId idx =
          c.input(rng, {int64, {positions}}, index_buffer(rng, {positions}, base_shape[1]));
      c.graph.set_outputs(
          {c.add(ir::Op::index_put, {base, values, idx}, ir::IndexPutAttrs{1, true})});
      if (t == float32 && positions == 3000) {
        // The test has teeth: the reversed order gives another sum for some destination.
        const auto* v = static_cast<const float*>(c.inputs[1]->data());
        const auto* i = static_cast<const int64_t*>(c.inputs[2]->data());
        bool differs = false;
        for (int64_t run = 0; run < 5 && !differs; ++run) {
          float forward = 0, backward = 0;
          for (int64_t n = 0; n < positions; ++n)
            if ((i[n] + 5) % 5 == run) forward += v[n * 4];
          for (int64_t n = positions - 1; n >= 0; --n)
            if ((i[n] + 5) % 5 == run) backward += v[n * 4];
          differs = forward != backward;
        }
        EXPECT_TRUE(differs);
      }
      expect_device_matches(c, 1);
    }
  }
}

// An embedding-like gather and its backward pass (index_put with accumulate) through the
// frontend: the gradient equals the CPU path's bit for bit (its upstream gradient is exact).
TEST(CudaIndex, EmbeddingBackwardMatchesCpu) {
  GPU_KERNELS_OR_SKIP();
  manual_seed(5);
  const Tensor table = randn({50, 8}) * 1000;
  const Tensor idx = randint(-50, 50, {4, 300});
  const Tensor w = randn({4, 300, 8});
  const Tensor x = table.clone().requires_grad_();
  const Tensor gx = table.cuda().requires_grad_();
  const Tensor y = (x.index({idx}) * w).sum();
  y.backward();
  const bc::CudaBackendStats before = bc::cuda_backend_stats();
  const Tensor gy = (gx.index({idx.cuda()}) * w.cuda()).sum();
  // Both are lazy until read: the forward gather, then the backward's accumulate.
  EXPECT_NEAR(gy.item<float>(), y.item<float>(), 1e-3 * std::abs(y.item<float>()));
  gy.backward();
  const Tensor grad = gx.grad().cpu();
  const bc::CudaBackendStats after = bc::cuda_backend_stats();
  EXPECT_TRUE(equal(grad, x.grad()));
  EXPECT_EQ(after.host_library_runs, before.host_library_runs);
  EXPECT_GE(after.index_steps, before.index_steps + 2);
}

// The same graph on both: the device must throw the interpreter's exact message.
void expect_same_error(Case& c) {
  bi::Interpreter interpreter;
  std::string want, got;
  try {
    interpreter.run(c.graph, c.inputs);
  } catch (const Error& e) {
    want = e.what();
  }
  ASSERT_FALSE(want.empty()) << "the interpreter accepted\n" << c.graph;
  std::vector<BufferPtr> device_inputs;
  for (const BufferPtr& b : c.inputs) device_inputs.push_back(bc::upload(b, cuda));
  try {
    bc::cuda_backend(0).run(c.graph, device_inputs);
  } catch (const Error& e) {
    got = e.what();
  }
  EXPECT_EQ(got, want);
}

BufferPtr int64_buffer(const std::vector<int64_t>& v) {
  BufferPtr b = runtime::Buffer::allocate(v.size() * 8);
  std::memcpy(b->data(), v.data(), v.size() * 8);
  return b;
}

TEST(CudaIndex, OutOfRangeIndicesRaiseTheInterpretersMessage) {
  GPU_KERNELS_OR_SKIP();
  testing::Rng rng(51);
  // Bad positions in both index tensors: the first in (tensor, position) order is reported.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases = {
      {{0, 1, 2, 3, 1}, {0, 0, 0, 0, 0}},   // 3 at position 3 of the first (size 3)
      {{0, -4, 2, 9, 1}, {0, 0, 0, 0, 0}},  // -4 before 9
      {{0, 1, 2, 1, 1}, {0, -6, 0, 7, 0}},  // only the second: -6 (size 5)
      {{0, 1, 2, 1, 5}, {99, 0, 0, 0, 0}},  // the first's 5 wins over the second's 99
  };
  for (const bool put : {false, true}) {
    for (const auto& [first, second] : cases) {
      SCOPED_TRACE(::testing::Message() << "put " << put << " first[3] " << first[3]);
      Case c;
      const ValueId x = c.input(rng, {float32, {2, 3, 5}});
      const ValueId i1 = c.input(rng, {int64, {5}}, int64_buffer(first));
      const ValueId i2 = c.input(rng, {int64, {5}}, int64_buffer(second));
      if (put) {
        const ValueId v = c.input(rng, {float32, {2, 5}});
        c.graph.set_outputs(
            {c.add(ir::Op::index_put, {x, v, i1, i2}, ir::IndexPutAttrs{1, first[4] == 1})});
      } else {
        c.graph.set_outputs({c.add(ir::Op::index, {x, i1, i2}, ir::AxisAttrs{1})});
      }
      expect_same_error(c);
    }
  }
  // An indexed dim of size 0: every index is out of range, even with nothing to move.
  Case c;
  const ValueId x = c.input(rng, {float32, {0, 4}});
  const ValueId i = c.input(rng, {int64, {2}}, int64_buffer({0, 0}));
  c.graph.set_outputs({c.add(ir::Op::index, {x, i}, ir::AxisAttrs{0})});
  expect_same_error(c);
}

// Integer and bool matmul (the interpreter's wraparound and or-of-ands), with a transposed
// operand and batch dims.
TEST(CudaMatmul, IntegerAndBoolMatchTheInterpreter) {
  GPU_KERNELS_OR_SKIP();
  testing::Rng rng(61);
  for (DType t : {int8, int16, int32, int64, uint8, boolean}) {
    for (int trial = 0; trial < 4; ++trial) {
      SCOPED_TRACE(::testing::Message() << name(t) << " trial " << trial);
      Case c;
      const int64_t m = rng.range(1, 40), k = rng.range(0, 70), n = rng.range(1, 40);
      Shape batch;
      if (trial >= 2) batch = random_shape(rng, trial - 1, 3);
      Shape a_shape = batch, b_shape = batch;
      a_shape.insert(a_shape.end(), {m, k});
      b_shape.insert(b_shape.end(), {n, k});
      const ValueId a = c.input(rng, {t, a_shape});
      Shape perm;
      for (size_t d = 0; d < batch.size(); ++d) perm.push_back(static_cast<int64_t>(d));
      perm.push_back(static_cast<int64_t>(batch.size()) + 1);
      perm.push_back(static_cast<int64_t>(batch.size()));
      const ValueId b =
          c.add(ir::Op::permute, {c.input(rng, {t, b_shape})}, ir::PermuteAttrs{perm});
      c.graph.set_outputs({c.add(ir::Op::matmul, {a, b}, ir::NoAttrs{})});
      const uint64_t before = bc::cuda_backend_stats().matmuls;
      expect_device_matches(c, 0);
      EXPECT_EQ(bc::cuda_backend_stats().matmuls, before + 1);
    }
  }
}

// Bool matmul whose operands hold bytes other than 0/1 (any nonzero byte is true).
TEST(CudaMatmul, BoolReadsAnyNonzeroByteAsTrue) {
  GPU_KERNELS_OR_SKIP();
  Case c;
  BufferPtr a = runtime::Buffer::allocate(4), b = runtime::Buffer::allocate(4);
  const unsigned char av[] = {2, 0, 0, 7}, bv[] = {0, 3, 5, 0};
  std::memcpy(a->data(), av, 4);
  std::memcpy(b->data(), bv, 4);
  testing::Rng rng(1);
  const ValueId x = c.input(rng, {boolean, {2, 2}}, a);
  const ValueId y = c.input(rng, {boolean, {2, 2}}, b);
  c.graph.set_outputs({c.add(ir::Op::matmul, {x, y}, ir::NoAttrs{})});
  expect_device_matches(c, 0);
}

}  // namespace
}  // namespace kiln
