// Code generation on its own: the emitted function's interface, which kernels fall back, that
// any split of the parallel range computes the same bytes, and that contiguous kernels and
// float sums come out vectorized.
#include "kiln/backends/cpu/codegen.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpu/cpu_test_util.h"
#include "gtest/gtest.h"
#include "kiln/backends/cpu/jit.h"
#include "kiln/passes/fusion.h"
#include "kiln/passes/lower_loops.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::backends::cpu::testing {
namespace {

// The single kernel step that `g` lowers to.
ir::ProgramStep only_kernel(const Graph& g) {
  ir::Program program = passes::lower_to_loops(g, passes::plan_fusion(g));
  if (program.steps.size() != 1 || program.steps[0].kind != ir::ProgramStep::Kind::kKernel)
    throw std::runtime_error("expected one kernel");
  return std::move(program.steps[0]);
}

Graph unary_graph(Op op, DType dtype, const Shape& shape) {
  Graph g;
  const ValueId x = g.add_input(TensorType{dtype, shape});
  g.set_outputs({add(g, op, {x})});
  return g;
}

Graph sum_graph(DType dtype, const Shape& shape, const Shape& axes) {
  Graph g;
  const ValueId x = g.add_input(TensorType{dtype, shape});
  g.set_outputs({add(g, Op::sum, {add(g, Op::exp, {x})}, ir::ReduceAttrs{axes, false})});
  return g;
}

std::string optimized_ir(const ir::LoopKernel& kernel, const std::string& symbol) {
  llvm::orc::ThreadSafeModule module = emit_kernel(kernel, symbol);
  llvm::Module& m = *module.getModuleUnlocked();
  Jit::instance().optimize(m);
  std::string text;
  llvm::raw_string_ostream stream(text);
  m.print(stream, nullptr);
  stream.flush();
  return text;
}

TEST(CpuCodegen, ModuleIsNamedAfterItsExportedFunction) {
  const ir::ProgramStep step = only_kernel(unary_graph(Op::neg, float32, {4, 5}));
  llvm::orc::ThreadSafeModule module = emit_kernel(step.kernel, "kiln_test_neg");
  llvm::Module& m = *module.getModuleUnlocked();
  EXPECT_EQ(m.getModuleIdentifier(), "kiln_test_neg");
  llvm::Function* fn = m.getFunction("kiln_test_neg");
  ASSERT_NE(fn, nullptr);
  EXPECT_FALSE(fn->hasLocalLinkage());
  EXPECT_EQ(fn->arg_size(), 6u);
  EXPECT_TRUE(fn->getReturnType()->isVoidTy());
  const std::string text = emit_kernel_ir(step.kernel, "kiln_test_neg");
  EXPECT_NE(text.find("noalias"), std::string::npos) << text;
}

TEST(CpuCodegen, FallsBackOnIntegerDivisionAndPowOnly) {
  for (DType dtype : kAllDTypes) {
    for (Op op : {Op::div, Op::pow, Op::add, Op::maximum}) {
      Graph g;
      const ValueId a = g.add_input(TensorType{dtype, {3}});
      const ValueId b = g.add_input(TensorType{dtype, {3}});
      g.set_outputs({add(g, op, {a, b})});
      const ir::ProgramStep step = only_kernel(g);
      const bool native = is_floating_point(dtype) || (op != Op::div && op != Op::pow);
      EXPECT_EQ(can_emit(step.kernel), native)
          << ir::op_name(op) << " " << dtype << ": " << why_not_emittable(step.kernel);
      if (!native) {
        EXPECT_THROW(emit_kernel(step.kernel, "kiln_test_nope"), kiln::Error);
      }
    }
  }
}

// Runs the compiled kernel of `g` over its parallel range split at `cuts` and returns the
// output bytes.
std::vector<unsigned char> run_split(const Graph& g, const std::vector<BufferPtr>& inputs,
                                     const std::vector<int64_t>& cuts, const std::string& symbol) {
  const ir::ProgramStep step = only_kernel(g);
  auto fn = reinterpret_cast<KernelFunction>(
      Jit::instance().compile(emit_kernel(step.kernel, symbol), symbol));
  std::vector<void*> data;
  BufferPtr out;
  for (size_t a = 0; a < step.arg_values.size(); ++a) {
    const ir::Node& node = g.node(step.arg_values[a]);
    if (step.kernel.args[a].is_output) {
      out = runtime::Buffer::allocate(static_cast<size_t>(numel(node.type.shape)) *
                                      itemsize(node.type.dtype));
      data.push_back(out->data());
    } else {
      data.push_back(
          inputs[static_cast<size_t>(std::get<ir::InputAttrs>(node.attrs).index)]->data());
    }
  }
  std::vector<int64_t> strides;
  for (const Shape& s : step.launch.strides) strides.insert(strides.end(), s.begin(), s.end());
  std::vector<int64_t> bounds = {0};
  bounds.insert(bounds.end(), cuts.begin(), cuts.end());
  bounds.push_back(parallel_extent(step.kernel, step.launch));
  const std::vector<int64_t> sizes = kernel_sizes(step.kernel, step.launch);
  for (size_t i = 0; i + 1 < bounds.size(); ++i)
    fn(data.data(), sizes.data(), strides.data(), step.launch.offsets.data(), bounds[i],
       bounds[i + 1]);
  const auto* bytes = static_cast<const unsigned char*>(out->data());
  return std::vector<unsigned char>(bytes, bytes + out->nbytes());
}

TEST(CpuCodegen, AnySplitOfTheRangeGivesTheSameBytes) {
  {
    // Elementwise over a transposed operand: runs start and stop mid-row.
    Graph g;
    const ValueId x = g.add_input(TensorType{float16, {13, 7, 5}});
    const ValueId t = add(g, Op::permute, {x}, ir::PermuteAttrs{{1, 2, 0}});
    const ValueId c =
        add(g, Op::expand,
            {add(g, Op::reshape, {g.add_constant(0.3, float16)}, ir::ShapeAttrs{{1, 1, 1}})},
            ir::ShapeAttrs{{7, 5, 13}});
    g.set_outputs({add(g, Op::mul, {t, add(g, Op::sub, {c, t})})});
    const std::vector<BufferPtr> in = {make_data(float16, 455, 1)};
    const auto whole = run_split(g, in, {}, "kiln_test_split_a0");
    EXPECT_EQ(run_split(g, in, {1, 6, 7, 100, 454}, "kiln_test_split_a1"), whole);
    EXPECT_EQ(run_split(g, in, {64, 65, 66, 200}, "kiln_test_split_a2"), whole);
  }
  {
    // A reduction over the middle dim: the parallel points are the kept (outer, inner) pairs.
    Graph g;
    const ValueId x = g.add_input(TensorType{int32, {6, 9, 4}});
    g.set_outputs({add(g, Op::argmax, {x}, ir::ReduceAttrs{{1}, false})});
    const std::vector<BufferPtr> in = {make_data(int32, 216, 2, Data::kSmallInts)};
    const auto whole = run_split(g, in, {}, "kiln_test_split_b0");
    EXPECT_EQ(run_split(g, in, {1, 3, 4, 5, 23}, "kiln_test_split_b1"), whole);
  }
}

TEST(CpuCodegen, ContiguousKernelsVectorize) {
  const ir::ProgramStep step = only_kernel(unary_graph(Op::relu, float32, {1000}));
  const std::string text = optimized_ir(step.kernel, "kiln_test_vec_relu");
  EXPECT_NE(text.find(" x float>"), std::string::npos) << text;
}

TEST(CpuCodegen, FloatSumsVectorize) {
  const ir::ProgramStep step = only_kernel(sum_graph(float32, {10, 1000}, {1}));
  const std::string text = optimized_ir(step.kernel, "kiln_test_vec_sum");
  EXPECT_NE(text.find(" x double>"), std::string::npos) << text;
}

TEST(CpuCodegen, SumLanesComputeAtTheFullFloatWidth) {
  // The double accumulators would make the vectorizer pick half-width vectors for the fused
  // float work (<4 x float> on AVX2); the lane loop asks for one register of floats.
  const int lanes = float_vector_lanes(Jit::instance().host());
  const ir::ProgramStep step = only_kernel(sum_graph(float32, {10, 1000}, {1}));
  const std::string raw = emit_kernel_ir(step.kernel, "kiln_test_width_raw");
  EXPECT_NE(raw.find(absl::StrCat("!\"llvm.loop.vectorize.width\", i32 ", lanes, "}")),
            std::string::npos)
      << raw;
  const std::string text = optimized_ir(step.kernel, "kiln_test_width");
  EXPECT_NE(text.find(absl::StrCat("<", lanes, " x float>")), std::string::npos) << text;
  EXPECT_NE(text.find(" x double>"), std::string::npos) << text;
}

TEST(CpuCodegen, FloatVectorLanesFollowTheHostFeatures) {
  EXPECT_EQ(float_vector_lanes({"x86_64-pc-linux-gnu", "x", "+avx,+avx2,+avx512f,+sse2"}), 16);
  EXPECT_EQ(float_vector_lanes({"x86_64-pc-linux-gnu", "x", "+avx,+avx2,-avx512f,+sse2"}), 8);
  EXPECT_EQ(float_vector_lanes({"x86_64-pc-linux-gnu", "x", "-avx,+sse2,+sse4.1"}), 4);
  EXPECT_EQ(float_vector_lanes({"aarch64-unknown-linux-gnu", "x", "+neon"}), 4);
  // Whole feature names only: "+avx512fp16" is not "+avx512f".
  EXPECT_EQ(float_vector_lanes({"x86_64-pc-linux-gnu", "x", "+avx512fp16,-avx"}), 4);
}

TEST(CpuCodegen, ColumnReductionsVectorizeAcrossKeptPoints) {
  // A sum over dim 0 walks the reduced dim with stride 100: the kernel reduces blocks of
  // neighbouring columns together instead, and that inner loop vectorizes.
  const ir::ProgramStep step = only_kernel(sum_graph(float32, {1000, 100}, {0}));
  EXPECT_GT(points_per_block(step.kernel), 1);
  EXPECT_EQ(points_per_block(only_kernel(sum_graph(float32, {100, 1000}, {1})).kernel), 1);
  const std::string text = optimized_ir(step.kernel, "kiln_test_vec_colsum");
  EXPECT_NE(text.find(" x double>"), std::string::npos) << text;

  Graph g;
  const ValueId x = g.add_input(TensorType{int32, {50, 300}});
  g.set_outputs({add(g, Op::argmax, {x}, ir::ReduceAttrs{{0}, false})});
  const std::string argmax = optimized_ir(only_kernel(g).kernel, "kiln_test_vec_argmax");
  EXPECT_NE(argmax.find(" x i64>"), std::string::npos) << argmax;
}

TEST(CpuCodegen, NothingReassociates) {
  // Floating sums vectorize through their lanes (codegen_reduce.cpp), in an order the
  // compiler may not change: no reassoc, and no other fast-math flag.
  const ir::ProgramStep step = only_kernel(sum_graph(float32, {10, 1000}, {1}));
  const std::string text = emit_kernel_ir(step.kernel, "kiln_test_flags");
  EXPECT_EQ(text.find("reassoc"), std::string::npos) << text;
  EXPECT_EQ(text.find("fast"), std::string::npos) << text;
  EXPECT_EQ(text.find("contract"), std::string::npos) << text;
}

}  // namespace
}  // namespace kiln::backends::cpu::testing
