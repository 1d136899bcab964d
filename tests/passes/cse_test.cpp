// Golden tests for common subexpression elimination, one behaviour per case.
#include "kiln/passes/cse.h"

#include <gtest/gtest.h>

#include "passes/pass_test_util.h"

namespace kiln::passes {
namespace {

using testing::expect_golden;

TEST(Cse, Name) { EXPECT_EQ(CsePass().name(), "cse"); }

TEST(Cse, MergesDuplicateConstants) {
  CsePass cse;
  expect_golden(cse,
                "%0 = constant() {value=2.0} : f32[]\n"
                "%1 = constant() {value=2.0} : f32[]\n"
                "%2 = add(%0, %1) : f32[]\n"
                "return %2\n",
                "%0 = constant() {value=2.0} : f32[]\n"
                "%1 = add(%0, %0) : f32[]\n"
                "return %1\n");
}

TEST(Cse, KeepsConstantsOfDifferentDTypeOrKind) {
  CsePass cse;
  const char* text =
      "%0 = constant() {value=2.0} : f32[]\n"
      "%1 = constant() {value=2.0} : f64[]\n"
      "%2 = constant() {value=2} : f32[]\n"
      "%3 = constant() {value=0.0} : f32[]\n"
      "%4 = constant() {value=-0.0} : f32[]\n"
      "return %0, %1, %2, %3, %4\n";
  expect_golden(cse, text, text);
}

TEST(Cse, MergesNaNConstants) {
  CsePass cse;
  expect_golden(cse,
                "%0 = constant() {value=nan} : f32[]\n"
                "%1 = constant() {value=nan} : f32[]\n"
                "return %0, %1\n",
                "%0 = constant() {value=nan} : f32[]\n"
                "return %0, %0\n");
}

TEST(Cse, MergesCommutativeOperandsInEitherOrder) {
  CsePass cse;
  expect_golden(cse,
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = input() {index=1} : f32[2]\n"
                "%2 = add(%0, %1) : f32[2]\n"
                "%3 = add(%1, %0) : f32[2]\n"
                "%4 = mul(%2, %3) : f32[2]\n"
                "return %4\n",
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = input() {index=1} : f32[2]\n"
                "%2 = add(%0, %1) : f32[2]\n"
                "%3 = mul(%2, %2) : f32[2]\n"
                "return %3\n");
}

TEST(Cse, KeepsNonCommutativeOperandOrder) {
  CsePass cse;
  const char* text =
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = input() {index=1} : f32[2]\n"
      "%2 = sub(%0, %1) : f32[2]\n"
      "%3 = sub(%1, %0) : f32[2]\n"
      "%4 = lt(%0, %1) : b8[2]\n"
      "%5 = lt(%1, %0) : b8[2]\n"
      "return %2, %3, %4, %5\n";
  expect_golden(cse, text, text);
}

TEST(Cse, NeverMergesInputs) {
  CsePass cse;
  const char* text =
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = input() {index=1} : f32[2]\n"
      "%2 = add(%0, %1) : f32[2]\n"
      "return %2\n";
  expect_golden(cse, text, text);
}

TEST(Cse, KeepsNodesWithDifferentAttributes) {
  CsePass cse;
  const char* text =
      "%0 = input() {index=0} : f32[2, 3]\n"
      "%1 = sum(%0) {axes=[0], keepdim=false} : f32[3]\n"
      "%2 = sum(%0) {axes=[0], keepdim=true} : f32[1, 3]\n"
      "%3 = sum(%0) {axes=[1], keepdim=false} : f32[2]\n"
      "%4 = slice(%0) {dim=1, start=0, stop=2, step=1} : f32[2, 2]\n"
      "%5 = slice(%0) {dim=1, start=1, stop=3, step=1} : f32[2, 2]\n"
      "return %1, %2, %3, %4, %5\n";
  expect_golden(cse, text, text);
}

TEST(Cse, MergesNodesWithEqualAttributes) {
  CsePass cse;
  expect_golden(cse,
                "%0 = input() {index=0} : f32[2, 3]\n"
                "%1 = permute(%0) {perm=[1, 0]} : f32[3, 2]\n"
                "%2 = permute(%0) {perm=[1, 0]} : f32[3, 2]\n"
                "return %1, %2\n",
                "%0 = input() {index=0} : f32[2, 3]\n"
                "%1 = permute(%0) {perm=[1, 0]} : f32[3, 2]\n"
                "return %1, %1\n");
}

TEST(Cse, MergesChainsWhoseOperandsMerged) {
  CsePass cse;
  expect_golden(cse,
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = exp(%0) : f32[2]\n"
                "%2 = exp(%0) : f32[2]\n"
                "%3 = neg(%1) : f32[2]\n"
                "%4 = neg(%2) : f32[2]\n"
                "%5 = sub(%3, %4) : f32[2]\n"
                "return %5\n",
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = exp(%0) : f32[2]\n"
                "%2 = neg(%1) : f32[2]\n"
                "%3 = sub(%2, %2) : f32[2]\n"
                "return %3\n");
}

TEST(Cse, RemapsOutputs) {
  CsePass cse;
  expect_golden(cse,
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = relu(%0) : f32[2]\n"
                "%2 = constant() {value=1} : i64[]\n"
                "%3 = relu(%0) : f32[2]\n"
                "%4 = abs(%3) : f32[2]\n"
                "return %4, %3, %2\n",
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = relu(%0) : f32[2]\n"
                "%2 = constant() {value=1} : i64[]\n"
                "%3 = abs(%1) : f32[2]\n"
                "return %3, %1, %2\n");
}

TEST(Cse, KeepsDeadNodes) {
  // Removing unused nodes is DCE's job; CSE only drops the duplicates it replaced.
  CsePass cse;
  const char* text =
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = exp(%0) : f32[2]\n"
      "return %0\n";
  expect_golden(cse, text, text);
}

}  // namespace
}  // namespace kiln::passes
