// Every elementwise op and dtype, and every reduction op and dtype, generates CUDA C that NVRTC
// compiles for sm_90 (no GPU needed). The kernels of one dtype are compiled together in one
// translation unit (one prelude), which keeps the suite fast.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cuda/nvrtc_test_cache.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/backends/cuda/nvrtc.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/infer.h"
#include "kiln/ir/ops.h"
#include "kiln/runtime/error.h"

namespace kiln {
namespace {

using ir::KernelExpr;
using ir::LoopKernel;
using ir::Op;

const std::vector<DType> kAllDtypes = {float32, float64, float16, bfloat16, int8,
                                       int16,   int32,   int64,   uint8,    boolean};

#define NVRTC_OR_SKIP()                   \
  if (!backends::cuda::nvrtc_available()) \
  GTEST_SKIP() << "NVRTC unavailable: " << backends::cuda::why_nvrtc_unavailable()

KernelExpr load(int32_t arg, DType t) {
  KernelExpr e;
  e.kind = KernelExpr::Kind::kLoad;
  e.arg = arg;
  e.dtype = t;
  return e;
}

KernelExpr constant(DType t, Scalar v) {
  KernelExpr e;
  e.kind = KernelExpr::Kind::kConstant;
  e.dtype = t;
  e.constant = v;
  return e;
}

// A rank-`rank` kernel over `operands` (one input arg each) computing `op` into one output.
// With `contiguous` every arg walks the innermost dim with unit stride (the vector path at
// rank 1); otherwise the first input is broadcast over dim 0 and the rest strided.
LoopKernel elementwise_kernel(Op op, const std::vector<DType>& operands, DType result, int rank,
                              bool contiguous) {
  LoopKernel k;
  k.rank = rank;
  for (size_t i = 0; i < operands.size(); ++i) {
    k.args.push_back({operands[i], false});
    k.exprs.push_back(load(static_cast<int32_t>(i), operands[i]));
  }
  KernelExpr e;
  e.op = op;
  e.dtype = result;
  for (size_t i = 0; i < operands.size(); ++i) e.operands.push_back(static_cast<int32_t>(i));
  k.exprs.push_back(e);
  // A runtime constant folded in after the op (x op ... then + 1) for arithmetic results.
  k.args.push_back({result, true});
  k.stores.push_back(
      {static_cast<int32_t>(operands.size()), static_cast<int32_t>(k.exprs.size() - 1)});
  for (size_t a = 0; a < k.args.size(); ++a) {
    ir::ArgLayout l;
    l.inner_unit_stride = contiguous || a != 0;
    if (!contiguous && a == 0 && rank > 1) l.zero_stride_dims = 1u;
    k.layouts.push_back(l);
  }
  return k;
}

std::vector<ir::TensorType> scalar_types(const std::vector<DType>& ds) {
  std::vector<ir::TensorType> out;
  for (DType d : ds) out.push_back(ir::TensorType{d, {}});
  return out;
}

// Compiles the kernels as one translation unit; returns the NVRTC error, "" on success.
void compile_together(const std::vector<std::string>& sources, const std::string& name) {
  ASSERT_FALSE(sources.empty());
  const std::string_view prelude = backends::cuda::cuda_prelude();
  std::string unit(prelude);
  for (const std::string& s : sources) {
    ASSERT_EQ(s.substr(0, prelude.size()), prelude);
    unit += s.substr(prelude.size());
  }
  try {
    const auto module = test::nvrtc_compile_cached(unit, name, 90);
    EXPECT_TRUE(module.is_cubin);
    EXPECT_GT(module.image.size(), 100u);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
}

std::vector<std::string> elementwise_sources(DType t, int* count) {
  std::vector<std::string> sources;
  for (int i = 0; i < ir::kNumOps; ++i) {
    const Op op = static_cast<Op>(i);
    if (!ir::has_trait(op, ir::kElementwise) || op == Op::cast) continue;
    const int arity = ir::op_arity(op);
    std::vector<DType> operands(static_cast<size_t>(arity), t);
    if (op == Op::where) operands[0] = boolean;
    const absl::StatusOr<ir::TensorType> type =
        ir::infer_type(op, ir::default_attrs(op), scalar_types(operands));
    if (!type.ok()) continue;  // e.g. exp of an integer: the frontend casts first
    // The contiguous vector path at rank 1, and the strided, broadcast path at rank 3.
    for (int rank : {1, 3}) {
      {
        const bool contiguous = rank == 1;
        LoopKernel k = elementwise_kernel(op, operands, type->dtype, rank, contiguous);
        const std::string symbol =
            absl::StrCat("k_", sv(ir::op_name(op)), "_", rank, contiguous ? "c" : "s");
        sources.push_back(backends::cuda::emit_cuda_kernel(k, symbol));
        ++*count;
      }
    }
  }
  // Casts to every dtype.
  for (DType to : kAllDtypes) {
    LoopKernel k = elementwise_kernel(Op::cast, {t}, to, 1, true);
    const std::string symbol = absl::StrCat("k_cast_to_", sv(short_name(to)));
    sources.push_back(backends::cuda::emit_cuda_kernel(k, symbol));
    ++*count;
  }
  return sources;
}

class NvrtcElementwise : public ::testing::TestWithParam<DType> {};

TEST_P(NvrtcElementwise, EveryOpCompilesForSm90) {
  NVRTC_OR_SKIP();
  int count = 0;
  const std::vector<std::string> sources = elementwise_sources(GetParam(), &count);
  EXPECT_GT(count, 10);
  compile_together(sources, absl::StrCat("elementwise_", sv(short_name(GetParam()))));
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, NvrtcElementwise, ::testing::ValuesIn(kAllDtypes),
                         [](const auto& info) { return std::string(short_name(info.param)); });

LoopKernel reduction_kernel(Op op, DType t, int rank, int reduced, bool contiguous) {
  LoopKernel k;
  k.kind = LoopKernel::Kind::kReduction;
  k.rank = rank;
  k.reduced_dims = reduced;
  k.reduce_op = op;
  const DType out = (op == Op::argmax || op == Op::argmin) ? int64 : t;
  k.args = {{t, false}, {out, true}};
  k.exprs.push_back(load(0, t));
  k.stores.push_back({1, 0});
  ir::ArgLayout in;
  in.inner_unit_stride = contiguous;
  ir::ArgLayout o;
  for (int d = rank - reduced; d < rank; ++d) o.zero_stride_dims |= 1u << d;
  k.layouts = {in, o};
  return k;
}

class NvrtcReduction : public ::testing::TestWithParam<DType> {};

TEST_P(NvrtcReduction, EveryReduceOpCompilesForSm90) {
  NVRTC_OR_SKIP();
  std::vector<std::string> sources;
  // Every op in every dtype; the launch shapes and layouts (whose indexing code does not depend
  // on the dtype) in all combinations for one floating and one integer dtype, two of them for
  // the others: each module is four kernels (block, warp, split part and combine), and NVRTC
  // time is most of this suite's CI time.
  const bool all_shapes = GetParam() == float32 || GetParam() == int64;
  for (Op op : {Op::sum, Op::prod, Op::amax, Op::amin, Op::argmax, Op::argmin}) {
    for (auto [rank, reduced] : {std::pair{1, 1}, std::pair{2, 1}, std::pair{3, 2}}) {
      for (bool contiguous : {true, false}) {
        if (!all_shapes && (rank == 1 || contiguous == (rank == 2))) continue;
        LoopKernel k = reduction_kernel(op, GetParam(), rank, reduced, contiguous);
        ASSERT_EQ(backends::cuda::why_not_emittable(k), "");
        sources.push_back(backends::cuda::emit_cuda_kernel(
            k, absl::StrCat("r_", sv(ir::op_name(op)), "_", rank, "_", reduced,
                            contiguous ? "c" : "s")));
      }
    }
  }
  compile_together(sources, absl::StrCat("reduce_", sv(short_name(GetParam()))));
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, NvrtcReduction, ::testing::ValuesIn(kAllDtypes),
                         [](const auto& info) { return std::string(short_name(info.param)); });

TEST(NvrtcCodegen, FusedChainWithRuntimeConstantsCompiles) {
  NVRTC_OR_SKIP();
  // ((x * 2 + 1).exp() * x) as the fused kernel of the benchmark.
  LoopKernel k;
  k.rank = 1;
  k.args = {{float32, false}, {float32, true}};
  k.layouts = {{0, true}, {0, true}};
  k.exprs.push_back(load(0, float32));
  k.exprs.push_back(constant(float32, 2.0));
  KernelExpr mul;
  mul.op = Op::mul;
  mul.operands = {0, 1};
  k.exprs.push_back(mul);
  k.exprs.push_back(constant(float32, 1.0));
  KernelExpr add;
  add.op = Op::add;
  add.operands = {2, 3};
  k.exprs.push_back(add);
  KernelExpr ex;
  ex.op = Op::exp;
  ex.operands = {4};
  k.exprs.push_back(ex);
  KernelExpr mul2;
  mul2.op = Op::mul;
  mul2.operands = {5, 0};
  k.exprs.push_back(mul2);
  k.stores = {{1, 6}};
  const std::string source = backends::cuda::emit_cuda_kernel(k, "chain");
  EXPECT_NE(source.find("KVec<float, 4>"), std::string::npos) << source;
  ir::KernelLaunch launch;
  launch.sizes = {1000};
  launch.strides = {{1}, {1}};
  launch.offsets = {0, 0};
  void* data[2] = {reinterpret_cast<void*>(0x1000), reinterpret_cast<void*>(0x2000)};
  const std::vector<uint64_t> words = backends::cuda::param_words(k, launch, data, nullptr);
  // 2 pointers, 1 size, 2 strides, 2 offsets, 2 runtime constants.
  ASSERT_EQ(words.size(), 9u);
  EXPECT_EQ(words[7], 0x40000000u);  // 2.0f
  EXPECT_EQ(words[8], 0x3f800000u);  // 1.0f
  const auto module = test::nvrtc_compile_cached(source, "chain", 90);
  EXPECT_TRUE(module.is_cubin);
  const auto ptx = test::nvrtc_compile_cached(source, "chain", 90, /*cubin=*/false);
  EXPECT_FALSE(ptx.is_cubin);
  EXPECT_NE(ptx.image.find(".entry chain"), std::string::npos);
}

// The copy kernels of cat and as_strided_scatter (load -> store through two strided views).
TEST(NvrtcCodegen, CopyKernelsOfEveryDtypeCompile) {
  NVRTC_OR_SKIP();
  std::vector<std::string> sources;
  for (DType t : kAllDtypes) {
    LoopKernel k;
    k.rank = 2;
    k.args = {{t, false}, {t, true}};
    k.exprs = {load(0, t)};
    k.stores = {{1, 0}};
    k.layouts = {{0, false}, {0, true}};
    sources.push_back(
        backends::cuda::emit_cuda_kernel(k, absl::StrCat("copy_", sv(short_name(t)))));
  }
  compile_together(sources, "copies");
}

TEST(NvrtcCodegen, CompileErrorsCarryTheLog) {
  NVRTC_OR_SKIP();
  try {
    backends::cuda::nvrtc_compile("extern \"C\" __global__ void f() { undefined_thing(); }", "bad",
                                  90);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("undefined_thing"), std::string::npos) << e.what();
  }
}

// The sanitizer build's NVRTC suite reads the main build's compiles (nvrtc_test_cache.h): a
// stored compile comes back whole, other options or sources compile, failures are not stored.
TEST(NvrtcTestCache, ReturnsTheStoredCompileForTheSameArgumentsOnly) {
  NVRTC_OR_SKIP();
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("kiln-nvrtc-test-cache-", getpid());
  std::filesystem::remove_all(dir);
  const backends::cpu::DiskCache cache(dir);
  const std::string source = "extern \"C\" __global__ void f(float* p) { p[0] = 1.0f; }";
  bool stored = true;
  const auto compiled = test::nvrtc_compile_cached(&cache, source, "f", 90, true, {}, &stored);
  ASSERT_TRUE(compiled.is_cubin);
  EXPECT_FALSE(stored);
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);

  const auto again = test::nvrtc_compile_cached(&cache, source, "f", 90, true, {}, &stored);
  EXPECT_TRUE(stored);
  EXPECT_EQ(again.image, compiled.image);
  EXPECT_EQ(again.is_cubin, compiled.is_cubin);
  EXPECT_EQ(again.log, compiled.log);

  const auto ptx = test::nvrtc_compile_cached(&cache, source, "f", 90, false, {}, &stored);
  EXPECT_FALSE(stored);
  EXPECT_FALSE(ptx.is_cubin);
  test::nvrtc_compile_cached(&cache, source, "f", 90, true, {.fmad = true}, &stored);
  EXPECT_FALSE(stored);  // other options: compiled, not the stored --fmad=false CUBIN
  EXPECT_NE(ptx.image.find(".entry f"), std::string::npos);
  EXPECT_THROW(
      test::nvrtc_compile_cached(&cache, "__global__ void g() { nope(); }", "g", 90, true, {}),
      Error);
  files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 3u);  // the two CUBINs and the PTX; not the failure
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln
