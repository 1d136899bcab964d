// LoopBackend (fusion + lowering + the loop evaluator) and run_program on fixed graphs: each
// case is a regression for a bug the differential fuzzer found, or a contract of Backend::run.
#include "kiln/backends/interp/loop_evaluator.h"

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "interp/interp_test_util.h"
#include "kiln/backends/program_runner.h"

namespace kiln::backends::interp {
namespace {

using testing::decode;
using testing::encode;
using testing::error_of;

ir::Graph parse(std::string_view text) {
  auto g = ir::parse_graph(text);
  if (!g.ok()) throw std::runtime_error(g.status().ToString());
  if (auto s = ir::verify(*g); !s.ok()) throw std::runtime_error(s.ToString());
  return *std::move(g);
}

// Runs `text` on both backends and expects the same bytes for every output.
void expect_same_bytes(std::string_view text, const std::vector<BufferPtr>& inputs) {
  const ir::Graph g = parse(text);
  const std::vector<BufferPtr> want = Interpreter().run(g, inputs);
  const std::vector<BufferPtr> got = LoopBackend().run(g, inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i]->nbytes(), want[i]->nbytes()) << "output " << i;
    if (want[i]->nbytes() == 0) continue;
    EXPECT_EQ(std::memcmp(got[i]->data(), want[i]->data(), want[i]->nbytes()), 0)
        << "output " << i << "\n"
        << text;
  }
}

TEST(LoopBackend, ZeroDimReductionsReduceTheirOneElement) {
  // Regression: a 0-d input naming axis 0 lowered to a malformed kernel (rank 0, reduced 1).
  for (const char* op : {"sum", "prod", "amax", "amin"})
    expect_same_bytes(absl::StrCat("%0 = input() {index=0} : f32[]\n%1 = ", op,
                                   "(%0) {axes=[0], keepdim=false} : f32[]\nreturn %1\n"),
                      {encode(float32, {-2.5})});
  for (const char* op : {"argmax", "argmin"})
    expect_same_bytes(absl::StrCat("%0 = input() {index=0} : f32[]\n%1 = ", op,
                                   "(%0) {axes=[0], keepdim=true} : i64[]\nreturn %1\n"),
                      {encode(float32, {7.0})});
}

TEST(LoopBackend, ASumOverNoAxesTurnsNegativeZeroPositive) {
  // Regression: no axes lowered to a copy, which kept -0.0; the interpreter adds to 0.0.
  const char* text =
      "%0 = input() {index=0} : f32[3]\n"
      "%1 = neg(%0) : f32[3]\n"
      "%2 = sum(%1) {axes=[], keepdim=false} : f32[3]\n"
      "return %2\n";
  expect_same_bytes(text, {encode(float32, {0.0, -1.0, 0.0})});
  const std::vector<double> out =
      decode(float32, LoopBackend().run(parse(text), {encode(float32, {0.0, -1.0, 0.0})})[0]);
  EXPECT_FALSE(std::signbit(out[0]));
  EXPECT_EQ(out[1], 1.0);
}

TEST(LoopBackend, SoftmaxMatchesTheInterpreterBitForBit) {
  expect_same_bytes(
      "%0 = input() {index=0} : f32[2, 3]\n"
      "%1 = amax(%0) {axes=[1], keepdim=true} : f32[2, 1]\n"
      "%2 = expand(%1) {shape=[2, 3]} : f32[2, 3]\n"
      "%3 = sub(%0, %2) : f32[2, 3]\n"
      "%4 = exp(%3) : f32[2, 3]\n"
      "%5 = sum(%4) {axes=[1], keepdim=true} : f32[2, 1]\n"
      "%6 = expand(%5) {shape=[2, 3]} : f32[2, 3]\n"
      "%7 = div(%4, %6) : f32[2, 3]\n"
      "return %7\n",
      {encode(float32, {0.5, -1.25, 3.0, 1e-3, 2.0, -7.5})});
}

TEST(LoopBackend, ARegroupedViewOfAConstantNeedsNoBuffer) {
  expect_same_bytes(
      "%0 = constant() {value=3} : i32[]\n"
      "%1 = reshape(%0) {shape=[1, 1]} : i32[1, 1]\n"
      "%2 = expand(%1) {shape=[2, 3]} : i32[2, 3]\n"
      "%3 = reshape(%2) {shape=[3, 2]} : i32[3, 2]\n"
      "%4 = as_strided(%3) {sizes=[2], strides=[2], offset=1} : i32[2]\n"
      "return %4, %0\n",
      {});
}

TEST(LoopBackend, RefusesAnInputBufferOfTheWrongSize) {
  // Kernels read inputs through strides without bounds checks, so this must fail up front.
  const ir::Graph g = parse(
      "%0 = input() {index=0} : f32[4]\n"
      "%1 = neg(%0) : f32[4]\n"
      "return %1\n");
  EXPECT_NE(error_of([&] {
              LoopBackend().run(g, {encode(float32, {1, 2})});
            }).find("needs 16 bytes"),
            std::string::npos);
  EXPECT_NE(error_of([&] { LoopBackend().run(g, {nullptr}); }).find("got null"), std::string::npos);
  EXPECT_NE(error_of([&] { LoopBackend().run(g, {}); }).find("no buffer bound to input 0"),
            std::string::npos);
}

TEST(LoopBackend, EveryOutputIsAFreshBuffer) {
  const ir::Graph g = parse(
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = neg(%0) : f32[2]\n"
      "return %0, %1, %1\n");
  const BufferPtr in = encode(float32, {1, 2});
  const std::vector<BufferPtr> out = LoopBackend().run(g, {in});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NE(out[0].get(), in.get());
  EXPECT_NE(out[1].get(), out[2].get());
  EXPECT_EQ(decode(float32, out[0]), (std::vector<double>{1, 2}));
  EXPECT_EQ(decode(float32, out[2]), (std::vector<double>{-1, -2}));
}

// A kernel that loads arg0 and stores the value (or its reduction) through arg1.
ir::LoopKernel copy_kernel(ir::LoopKernel::Kind kind, int32_t rank, int32_t reduced) {
  ir::LoopKernel k;
  k.kind = kind;
  k.rank = rank;
  k.reduced_dims = reduced;
  k.args = {ir::KernelArg{float32, false}, ir::KernelArg{float32, true}};
  ir::KernelExpr load;
  load.kind = ir::KernelExpr::Kind::kLoad;
  load.dtype = float32;
  load.arg = 0;
  k.exprs.push_back(load);
  k.stores.emplace_back(1, 0);
  return k;
}

TEST(LoopEvaluator, LoadsAndStoresThroughStridesAndOffsets) {
  // A transposed 2x2 window at offset 1 of [0..5], stored at offset 2 with row stride 3.
  const ir::LoopKernel k = copy_kernel(ir::LoopKernel::Kind::kElementwise, 2, 0);
  ir::KernelLaunch launch{{2, 2}, {{1, 3}, {3, 1}}, {1, 2}};
  const BufferPtr in = encode(float32, {0, 1, 2, 3, 4, 5});
  const BufferPtr out = encode(float32, {-1, -1, -1, -1, -1, -1, -1, -1});
  LoopEvaluator().run(k, launch, {in->data(), out->data()});
  EXPECT_EQ(decode(float32, out), (std::vector<double>{-1, -1, 1, 4, -1, 2, 5, -1}));
}

TEST(LoopEvaluator, AReductionStoresEachKeptPointOnce) {
  // Row sums of [[0, 1, 2], [3, 4, 5]] into elements 1 and 3 of the output.
  ir::LoopKernel k = copy_kernel(ir::LoopKernel::Kind::kReduction, 2, 1);
  k.reduce_op = ir::Op::sum;
  ir::KernelLaunch launch{{2, 3}, {{3, 1}, {2, 0}}, {0, 1}};
  const BufferPtr in = encode(float32, {0, 1, 2, 3, 4, 5});
  const BufferPtr out = encode(float32, {-1, -1, -1, -1});
  LoopEvaluator().run(k, launch, {in->data(), out->data()});
  EXPECT_EQ(decode(float32, out), (std::vector<double>{-1, 3, -1, 12}));
}

TEST(LoopEvaluator, AnEmptyReductionStoresTheIdentity) {
  ir::LoopKernel k = copy_kernel(ir::LoopKernel::Kind::kReduction, 2, 1);
  k.reduce_op = ir::Op::prod;
  ir::KernelLaunch launch{{2, 0}, {{0, 1}, {1, 0}}, {0, 0}};
  const BufferPtr in = runtime::Buffer::allocate(0);
  const BufferPtr out = encode(float32, {-1, -1});
  LoopEvaluator().run(k, launch, {in->data(), out->data()});
  EXPECT_EQ(decode(float32, out), (std::vector<double>{1, 1}));
}

}  // namespace
}  // namespace kiln::backends::interp
