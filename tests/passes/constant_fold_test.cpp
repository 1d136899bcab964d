// Golden tests for constant folding, one behaviour per case: folded values follow the
// interpreter's element semantics (float32 arithmetic in float, float16 rounding, integer
// wraparound, truthiness), and what must not fold (failures at run time, non-constants,
// indexing, matmul) stays.
#include "kiln/passes/constant_fold.h"

#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "passes/pass_test_util.h"

namespace kiln::passes {
namespace {

using testing::expect_golden;

// $OP of constants of type $T with a result of type $R, and what folding makes of it: the
// operands stay (for DCE), the folded constant follows them.
constexpr const char* kUnary =
    "%0 = constant() {value=$A} : $T[]\n"
    "%1 = $OP(%0)$K : $R[]\n"
    "return %1\n";
constexpr const char* kUnaryFolded =
    "%0 = constant() {value=$A} : $T[]\n"
    "%1 = constant() {value=$F} : $R[]\n"
    "return %1\n";
constexpr const char* kBinary =
    "%0 = constant() {value=$A} : $T[]\n"
    "%1 = constant() {value=$B} : $T[]\n"
    "%2 = $OP(%0, %1) : $R[]\n"
    "return %2\n";
constexpr const char* kBinaryFolded =
    "%0 = constant() {value=$A} : $T[]\n"
    "%1 = constant() {value=$B} : $T[]\n"
    "%2 = constant() {value=$F} : $R[]\n"
    "return %2\n";

std::string fill(const char* text, const char* op, const char* a, const char* b, const char* type,
                 const char* result_type, const char* folded = "") {
  const char* r = result_type ? result_type : type;
  const std::string attrs = std::string(op) == "cast" ? absl::StrCat(" {to=", r, "}") : "";
  return absl::StrReplaceAll(
      text,
      {{"$OP", op}, {"$K", attrs}, {"$A", a}, {"$B", b}, {"$T", type}, {"$R", r}, {"$F", folded}});
}

std::string binary_text(const char* op, const char* a, const char* b, const char* type) {
  return fill(kBinary, op, a, b, type, nullptr);
}

// op(value) (or a cast of value to result_type) folds to `folded`.
void expect_unary(const char* op, const char* value, const char* type, const char* folded,
                  const char* result_type = nullptr) {
  SCOPED_TRACE(absl::StrCat(op, "(", value, ") : ", type));
  ConstantFoldPass fold;
  expect_golden(fold, fill(kUnary, op, value, "", type, result_type),
                fill(kUnaryFolded, op, value, "", type, result_type, folded));
}

void expect_binary(const char* op, const char* a, const char* b, const char* type,
                   const char* folded, const char* result_type = nullptr) {
  SCOPED_TRACE(absl::StrCat(op, "(", a, ", ", b, ") : ", type));
  ConstantFoldPass fold;
  expect_golden(fold, fill(kBinary, op, a, b, type, result_type),
                fill(kBinaryFolded, op, a, b, type, result_type, folded));
}

void expect_not_folded(const std::string& text) {
  ConstantFoldPass fold;
  expect_golden(fold, text, text);
}

TEST(ConstantFold, Name) { EXPECT_EQ(ConstantFoldPass().name(), "constant-fold"); }

TEST(ConstantFold, ExpandedOperandsFoldToACanonicalSplat) {
  ConstantFoldPass fold;
  expect_golden(fold,
                "%0 = constant() {value=2.0} : f32[]\n"
                "%1 = reshape(%0) {shape=[1, 1]} : f32[1, 1]\n"
                "%2 = expand(%1) {shape=[2, 3]} : f32[2, 3]\n"
                "%3 = constant() {value=3} : f32[]\n"
                "%4 = reshape(%3) {shape=[1, 1]} : f32[1, 1]\n"
                "%5 = expand(%4) {shape=[2, 3]} : f32[2, 3]\n"
                "%6 = mul(%2, %5) : f32[2, 3]\n"
                "%7 = input() {index=0} : f32[2, 3]\n"
                "%8 = add(%6, %7) : f32[2, 3]\n"
                "return %8\n",
                "%0 = constant() {value=2.0} : f32[]\n"
                "%1 = reshape(%0) {shape=[1, 1]} : f32[1, 1]\n"
                "%2 = expand(%1) {shape=[2, 3]} : f32[2, 3]\n"
                "%3 = constant() {value=3} : f32[]\n"
                "%4 = reshape(%3) {shape=[1, 1]} : f32[1, 1]\n"
                "%5 = expand(%4) {shape=[2, 3]} : f32[2, 3]\n"
                "%6 = constant() {value=6.0} : f32[]\n"
                "%7 = reshape(%6) {shape=[1, 1]} : f32[1, 1]\n"
                "%8 = expand(%7) {shape=[2, 3]} : f32[2, 3]\n"
                "%9 = input() {index=0} : f32[2, 3]\n"
                "%10 = add(%8, %9) : f32[2, 3]\n"
                "return %10\n");
}

TEST(ConstantFold, FloatMathRunsInTheDTypesComputeType) {
  // exp(2) in float (7.38905620574951171875), not the float64 7.38905609893065.
  expect_unary("exp", "2.0", "f32", "7.389056205749512");
  expect_unary("exp", "2.0", "f64", "7.38905609893065");
  expect_binary("div", "1.0", "3.0", "f32", "0.3333333432674408");
  expect_binary("div", "1.0", "3.0", "f64", "0.3333333333333333");
  expect_unary("sqrt", "-1.0", "f32", "-nan");  // x86's default NaN has the sign bit set
  expect_binary("div", "1.0", "-0.0", "f32", "-inf");
  expect_binary("mul", "inf", "0.0", "f64", "-nan");
  expect_binary("maximum", "1.0", "nan", "f32", "nan");
  expect_unary("neg", "nan", "f32", "-nan");
  expect_unary("round", "2.5", "f32", "2.0");  // half to even
  expect_unary("sigmoid", "0.0", "f16", "0.5");
}

TEST(ConstantFold, HalfPrecisionRoundsEveryResult) {
  // 0.1 is stored as float16 0.0999755859375; 2049 rounds to 2048 (11-bit significand).
  expect_binary("add", "0.1", "0.0", "f16", "0.0999755859375");
  expect_binary("add", "2048.0", "1.0", "f16", "2048.0");
  expect_binary("add", "2048.0", "1.0", "bf16", "2048.0");
  expect_binary("mul", "65504.0", "2.0", "f16", "inf");
  expect_unary("cast", "2049", "i32", "2048.0", "f16");
}

TEST(ConstantFold, IntegersWrapAndCastsTruncate) {
  expect_binary("add", "127", "1", "i8", "-128");
  expect_binary("sub", "0", "1", "u8", "255");
  expect_binary("mul", "65536", "65536", "i32", "0");
  expect_binary("div", "-7", "2", "i64", "-3");  // truncating division
  expect_binary("pow", "3", "4", "i16", "81");
  expect_binary("pow", "2", "-1", "i32", "0");
  expect_unary("neg", "-9223372036854775808", "i64", "-9223372036854775808");
  expect_unary("cast", "-2.9", "f32", "-2", "i32");
  expect_unary("cast", "300.5", "f64", "44", "u8");
  expect_unary("cast", "nan", "f32", "0", "i64");
  expect_unary("cast", "-1", "i8", "255", "u8");
}

TEST(ConstantFold, BoolsAndComparisons) {
  expect_unary("cast", "0.5", "f32", "true", "b8");  // truthiness, not truncation
  expect_unary("cast", "nan", "f64", "true", "b8");
  expect_unary("logical_not", "-0.0", "f32", "true", "b8");
  expect_binary("add", "true", "true", "b8", "true");
  expect_binary("lt", "1.0", "nan", "f32", "false", "b8");
  expect_binary("ne", "nan", "nan", "f32", "true", "b8");
  expect_binary("eq", "0.0", "-0.0", "f64", "true", "b8");
  expect_binary("logical_and", "2", "0", "i32", "false", "b8");
  expect_binary("ge", "255", "0", "u8", "true", "b8");
  expect_binary("gt", "-1", "0", "u8", "true", "b8");  // -1 is 255 in uint8
}

TEST(ConstantFold, IntegerDivisionByZeroStaysToFailWhenRun) {
  expect_not_folded(binary_text("div", "1", "0", "i32"));
  expect_binary("div", "1.0", "0.0", "f32", "inf");
}

TEST(ConstantFold, CommutativeOpsOfTwoDifferentNaNsStay) {
  // Which NaN x86 returns depends on the operand order the compiler chose for a + b.
  expect_not_folded(binary_text("add", "nan", "-nan", "f32"));
  expect_not_folded(binary_text("mul", "-nan", "nan", "f64"));
  expect_binary("add", "-nan", "-nan", "f32", "-nan");
  expect_binary("sub", "nan", "-nan", "f32", "nan");  // sub keeps its operand order
}

TEST(ConstantFold, Where) {
  ConstantFoldPass fold;
  expect_golden(fold,
                "%0 = constant() {value=false} : b8[]\n"
                "%1 = constant() {value=1} : i64[]\n"
                "%2 = constant() {value=2} : i64[]\n"
                "%3 = where(%0, %1, %2) : i64[]\n"
                "return %3\n",
                "%0 = constant() {value=false} : b8[]\n"
                "%1 = constant() {value=1} : i64[]\n"
                "%2 = constant() {value=2} : i64[]\n"
                "%3 = constant() {value=2} : i64[]\n"
                "return %3\n");
}

TEST(ConstantFold, MovementOfASplatBecomesCanonical) {
  ConstantFoldPass fold;
  expect_golden(fold,
                "%0 = constant() {value=1.5} : f32[]\n"
                "%1 = reshape(%0) {shape=[1, 1]} : f32[1, 1]\n"
                "%2 = expand(%1) {shape=[2, 3]} : f32[2, 3]\n"
                "%3 = permute(%2) {perm=[1, 0]} : f32[3, 2]\n"
                "%4 = slice(%3) {dim=0, start=1, stop=3, step=1} : f32[2, 2]\n"
                "%5 = reshape(%4) {shape=[4]} : f32[4]\n"
                "return %5\n",
                "%0 = constant() {value=1.5} : f32[]\n"
                "%1 = reshape(%0) {shape=[1, 1]} : f32[1, 1]\n"
                "%2 = expand(%1) {shape=[2, 3]} : f32[2, 3]\n"
                "%3 = constant() {value=1.5} : f32[]\n"
                "%4 = reshape(%3) {shape=[1, 1]} : f32[1, 1]\n"
                "%5 = expand(%4) {shape=[3, 2]} : f32[3, 2]\n"
                "%6 = constant() {value=1.5} : f32[]\n"
                "%7 = reshape(%6) {shape=[1, 1]} : f32[1, 1]\n"
                "%8 = expand(%7) {shape=[2, 2]} : f32[2, 2]\n"
                "%9 = constant() {value=1.5} : f32[]\n"
                "%10 = reshape(%9) {shape=[1]} : f32[1]\n"
                "%11 = expand(%10) {shape=[4]} : f32[4]\n"
                "return %11\n");
}

TEST(ConstantFold, CanonicalSplatsAreLeftAlone) {
  expect_not_folded(
      "%0 = constant() {value=1} : f32[]\n"
      "%1 = reshape(%0) {shape=[1]} : f32[1]\n"
      "%2 = expand(%1) {shape=[3]} : f32[3]\n"
      "%3 = reshape(%0) {shape=[1, 1]} : f32[1, 1]\n"
      "return %0, %2, %3\n");
}

TEST(ConstantFold, CatOfEqualSplats) {
  ConstantFoldPass fold;
  const char* operands =
      "%0 = constant() {value=7} : i32[]\n"
      "%1 = reshape(%0) {shape=[1]} : i32[1]\n"
      "%2 = expand(%1) {shape=[2]} : i32[2]\n"
      "%3 = constant() {value=7} : i64[]\n"
      "%4 = cast(%3) {to=i32} : i32[]\n"
      "%5 = reshape(%4) {shape=[1]} : i32[1]\n";
  expect_golden(fold,
                std::string(operands) +
                    "%6 = cat(%2, %5) {dim=0} : i32[3]\n"
                    "return %6\n",
                "%0 = constant() {value=7} : i32[]\n"
                "%1 = reshape(%0) {shape=[1]} : i32[1]\n"
                "%2 = expand(%1) {shape=[2]} : i32[2]\n"
                "%3 = constant() {value=7} : i64[]\n"
                "%4 = constant() {value=7} : i32[]\n"
                "%5 = reshape(%4) {shape=[1]} : i32[1]\n"
                "%6 = constant() {value=7} : i32[]\n"
                "%7 = reshape(%6) {shape=[1]} : i32[1]\n"
                "%8 = expand(%7) {shape=[3]} : i32[3]\n"
                "return %8\n");
  expect_not_folded(
      "%0 = constant() {value=7} : i32[]\n"
      "%1 = reshape(%0) {shape=[1]} : i32[1]\n"
      "%2 = constant() {value=8} : i32[]\n"
      "%3 = reshape(%2) {shape=[1]} : i32[1]\n"
      "%4 = cat(%1, %3) {dim=0} : i32[2]\n"
      "return %4\n");
}

// $OP over an expanded constant $V of type $T with $N elements folds to $F : $R.
void expect_reduction(const char* op, const char* value, const char* type, int n,
                      const char* folded, const char* result_type = nullptr) {
  SCOPED_TRACE(absl::StrCat(op, " of ", n, " x ", value, " : ", type));
  const absl::flat_hash_map<std::string, std::string> vars = {
      {"$OP", op},    {"$V", value},
      {"$T", type},   {"$N", absl::StrCat(n)},
      {"$F", folded}, {"$R", result_type ? result_type : type}};
  const char* operand =
      "%0 = constant() {value=$V} : $T[]\n"
      "%1 = reshape(%0) {shape=[1]} : $T[1]\n"
      "%2 = expand(%1) {shape=[$N]} : $T[$N]\n";
  ConstantFoldPass fold;
  expect_golden(fold,
                absl::StrReplaceAll(absl::StrCat(operand,
                                                 "%3 = $OP(%2) {axes=[0], keepdim=false} : $R[]\n"
                                                 "return %3\n"),
                                    vars),
                absl::StrReplaceAll(absl::StrCat(operand,
                                                 "%3 = constant() {value=$F} : $R[]\n"
                                                 "return %3\n"),
                                    vars));
}

TEST(ConstantFold, ReductionsReplayTheInterpreter) {
  expect_reduction("sum", "1.0", "f32", 3, "3.0");
  // Pairwise: 0.1 summed in the interpreter's tree of 16-element blocks, in double (a
  // sequential sum of 100 x 0.1 is 9.99999999999998), then rounded to the dtype.
  expect_reduction("sum", "0.1", "f64", 100, "10.0");
  expect_reduction("sum", "0.1", "f32", 100, "10.0");
  expect_reduction("sum", "1.0", "f16", 4096, "4096.0");
  expect_reduction("sum", "100", "i8", 3, "44");  // 300 wraps
  expect_reduction("sum", "5", "i64", 0, "0");
  expect_reduction("prod", "2", "i32", 31, "-2147483648");
  expect_reduction("prod", "2.0", "f32", 200, "inf");
  expect_reduction("prod", "-1.0", "f64", 5, "-1.0");
  expect_reduction("amax", "nan", "f32", 4, "nan");
  expect_reduction("amin", "-3", "i16", 2, "-3");
  expect_reduction("argmax", "nan", "f32", 4, "0", "i64");
  expect_reduction("argmin", "1", "u8", 4, "0", "i64");
}

TEST(ConstantFold, EmptyExtremaStayToFailWhenRun) {
  expect_not_folded(
      "%0 = constant() {value=1.0} : f32[]\n"
      "%1 = reshape(%0) {shape=[1]} : f32[1]\n"
      "%2 = expand(%1) {shape=[0]} : f32[0]\n"
      "%3 = amax(%2) {axes=[0], keepdim=false} : f32[]\n"
      "return %3\n");
}

TEST(ConstantFold, NonConstantsIndexingAndMatmulStay) {
  expect_not_folded(
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = exp(%0) : f32[2]\n"
      "return %1\n");
  expect_not_folded(
      "%0 = constant() {value=1.0} : f32[]\n"
      "%1 = reshape(%0) {shape=[1, 1]} : f32[1, 1]\n"
      "%2 = expand(%1) {shape=[2, 2]} : f32[2, 2]\n"
      "%3 = matmul(%2, %2) : f32[2, 2]\n"
      "%4 = constant() {value=5} : i64[]\n"
      "%5 = reshape(%4) {shape=[1]} : i64[1]\n"
      "%6 = reshape(%0) {shape=[1]} : f32[1]\n"
      "%7 = expand(%6) {shape=[3]} : f32[3]\n"
      "%8 = index(%7, %5) {dim=0} : f32[1]\n"
      "return %3, %8\n");
}

TEST(ConstantFold, StridedScatterOfEqualSplats) {
  ConstantFoldPass fold;
  const char* operands =
      "%0 = constant() {value=0} : i64[]\n"
      "%1 = reshape(%0) {shape=[1]} : i64[1]\n"
      "%2 = expand(%1) {shape=[4]} : i64[4]\n"
      "%3 = expand(%1) {shape=[2]} : i64[2]\n";
  expect_golden(fold,
                std::string(operands) +
                    "%4 = as_strided_scatter(%2, %3) {sizes=[2], strides=[2], offset=1} : i64[4]\n"
                    "return %4\n",
                std::string(operands) +
                    "%4 = constant() {value=0} : i64[]\n"
                    "%5 = reshape(%4) {shape=[1]} : i64[1]\n"
                    "%6 = expand(%5) {shape=[4]} : i64[4]\n"
                    "return %6\n");
}

TEST(ConstantFold, StoredValueFollowsTheInterpretersConstantNode) {
  EXPECT_EQ(stored_value(Scalar(0.1), float16), Scalar(0.0999755859375));
  EXPECT_EQ(stored_value(Scalar(300), uint8), Scalar(44));
  EXPECT_EQ(stored_value(Scalar(-2.5), int32), Scalar(-2));
  EXPECT_EQ(stored_value(Scalar(0.5), boolean), Scalar(true));
  EXPECT_EQ(stored_value(Scalar(true), float32), Scalar(1.0));
  EXPECT_EQ(stored_value(Scalar(1e300), float32), Scalar(std::numeric_limits<double>::infinity()));
}

}  // namespace
}  // namespace kiln::passes
