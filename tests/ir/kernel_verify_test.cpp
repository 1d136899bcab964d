// verify_kernel: the loop IR rules both code generators (LLVM and CUDA C) rely on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "kiln/ir/kernel.h"

namespace kiln::ir {
namespace {

KernelExpr load(int32_t arg, DType dtype) {
  return KernelExpr{.kind = KernelExpr::Kind::kLoad, .dtype = dtype, .arg = arg};
}
KernelExpr op(Op o, DType dtype, absl::InlinedVector<int32_t, 3> operands) {
  return KernelExpr{.kind = KernelExpr::Kind::kOp, .dtype = dtype, .op = o, .operands = operands};
}

// out = exp(in), float32, rank 1.
LoopKernel exp_kernel() {
  LoopKernel k;
  k.rank = 1;
  k.args = {{float32, false}, {float32, true}};
  k.layouts.resize(2);
  k.exprs = {load(0, float32), op(Op::exp, float32, {0})};
  k.stores = {{1, 1}};
  return k;
}

std::string fault(const LoopKernel& k) { return std::string(verify_kernel(k).message()); }

TEST(KernelVerify, AcceptsWellFormedKernels) {
  EXPECT_TRUE(verify_kernel(exp_kernel()).ok());
  LoopKernel r = exp_kernel();
  r.kind = LoopKernel::Kind::kReduction;
  r.rank = 2;
  r.reduced_dims = 1;
  r.reduce_op = Op::argmax;
  r.args[1].dtype = int64;
  EXPECT_TRUE(verify_kernel(r).ok()) << fault(r);
}

TEST(KernelVerify, NamesTheFirstFault) {
  LoopKernel k = exp_kernel();
  k.exprs[0].arg = 1;  // reading the output would break the no-alias promise
  k.exprs[0].dtype = float32;
  EXPECT_EQ(fault(k), "%0: load of an output arg");
  k = exp_kernel();
  k.exprs[1].operands = {1};
  EXPECT_EQ(fault(k), "%1: operand not defined before use");
  k = exp_kernel();
  k.exprs[1] = op(Op::add, float32, {0});
  EXPECT_EQ(fault(k), "%1: add with 1 operands");
  k = exp_kernel();
  k.exprs[1] = op(Op::sum, float32, {0});
  EXPECT_EQ(fault(k), "%1: sum is not an elementwise kernel expression");
  k = exp_kernel();
  k.exprs[1].dtype = float64;  // exp keeps its operand's dtype
  EXPECT_EQ(fault(k), "%1: result dtype differs from the op's rule");
  k = exp_kernel();
  k.args[1].dtype = float16;
  EXPECT_EQ(fault(k), "store dtype differs from its arg's");
  k = exp_kernel();
  k.stores = {{0, 1}};
  EXPECT_EQ(fault(k), "store into a missing or input arg");
  k = exp_kernel();
  k.layouts.pop_back();
  EXPECT_EQ(fault(k), "layouts missing");
  k = exp_kernel();
  k.rank = 33;
  EXPECT_THAT(fault(k), ::testing::HasSubstr("rank 33"));
}

TEST(KernelVerify, ReductionRules) {
  LoopKernel k = exp_kernel();
  k.kind = LoopKernel::Kind::kReduction;
  k.reduced_dims = 2;  // more than the rank
  EXPECT_EQ(fault(k), "bad reduced_dims");
  k.reduced_dims = 1;
  k.reduce_op = Op::argmin;
  EXPECT_EQ(fault(k), "argmax/argmin must store int64");
  k.reduce_op = Op::exp;
  EXPECT_EQ(fault(k), "exp is not a reduction");
  k.reduce_op = Op::sum;
  k.args.push_back({float32, true});
  k.layouts.emplace_back();
  k.stores.push_back({2, 1});
  EXPECT_EQ(fault(k), "");  // two sums of one value (passes/group_kernels.h)
  k.reduce_op = Op::amax;
  EXPECT_EQ(fault(k), "several stores of amax");
  k.reduce_op = Op::prod;
  EXPECT_EQ(fault(k), "");
  k.args[2].dtype = float64;
  k.exprs.push_back(op(Op::cast, float64, {1}));
  k.stores[1] = {2, 2};
  EXPECT_EQ(fault(k), "reduction stores of different dtypes");
}

}  // namespace
}  // namespace kiln::ir
