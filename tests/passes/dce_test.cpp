// Golden tests for dead code elimination, one behaviour per case.
#include "kiln/passes/dce.h"

#include <gtest/gtest.h>

#include "passes/pass_test_util.h"

namespace kiln::passes {
namespace {

using testing::expect_golden;

TEST(Dce, Name) { EXPECT_EQ(DcePass().name(), "dce"); }

TEST(Dce, RemovesDeadNode) {
  DcePass dce;
  expect_golden(dce,
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = exp(%0) : f32[2]\n"
                "%2 = neg(%0) : f32[2]\n"
                "return %2\n",
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = neg(%0) : f32[2]\n"
                "return %1\n");
}

TEST(Dce, RemovesDeadChainTransitively) {
  DcePass dce;
  expect_golden(dce,
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = exp(%0) : f32[2]\n"
                "%2 = log(%1) : f32[2]\n"
                "%3 = sum(%2) {axes=[0], keepdim=false} : f32[]\n"
                "return %0\n",
                "%0 = input() {index=0} : f32[2]\n"
                "return %0\n");
}

TEST(Dce, KeepsUnusedInputs) {
  DcePass dce;
  expect_golden(dce,
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = input() {index=1} : i64[3]\n"
                "%2 = constant() {value=1} : i64[]\n"
                "%3 = input() {index=2} : f32[2]\n"
                "%4 = neg(%3) : f32[2]\n"
                "return %4\n",
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = input() {index=1} : i64[3]\n"
                "%2 = input() {index=2} : f32[2]\n"
                "%3 = neg(%2) : f32[2]\n"
                "return %3\n");
}

TEST(Dce, RemapsOutputs) {
  DcePass dce;
  expect_golden(dce,
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = constant() {value=2.0} : f32[]\n"
                "%2 = exp(%0) : f32[2]\n"
                "%3 = constant() {value=3.0} : f32[]\n"
                "%4 = neg(%2) : f32[2]\n"
                "return %4, %1, %4\n",
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = constant() {value=2.0} : f32[]\n"
                "%2 = exp(%0) : f32[2]\n"
                "%3 = neg(%2) : f32[2]\n"
                "return %3, %1, %3\n");
}

TEST(Dce, EmptyReturnKeepsOnlyInputs) {
  DcePass dce;
  expect_golden(dce,
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = neg(%0) : f32[2]\n"
                "return\n",
                "%0 = input() {index=0} : f32[2]\n"
                "return\n");
}

TEST(Dce, LiveGraphIsUnchanged) {
  DcePass dce;
  const char* text =
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = input() {index=1} : f32[2]\n"
      "%2 = add(%0, %1) : f32[2]\n"
      "return %2\n";
  expect_golden(dce, text, text);
}

}  // namespace
}  // namespace kiln::passes
