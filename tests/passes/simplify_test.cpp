// Golden tests for algebraic simplification, one rule per case, and the rewrites it must not
// do because they would change a value (float x + 0.0, x * 0, x * -1, pow).
#include "kiln/passes/simplify.h"

#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "kiln/passes/pass_manager.h"
#include "passes/pass_test_util.h"

namespace kiln::passes {
namespace {

using testing::expect_golden;

// A graph computing $OP(%0, splat) for an input of type $T[2] and a splat of $V (constant
// text such as "-0.0" or "1").
constexpr const char* kWithSplat =
    "%0 = input() {index=0} : $T[2]\n"
    "%1 = constant() {value=$V} : $T[]\n"
    "%2 = reshape(%1) {shape=[1]} : $T[1]\n"
    "%3 = expand(%2) {shape=[2]} : $T[2]\n"
    "%4 = $OP($ARGS) : $T[2]\n"
    "return %4\n";
// The same graph after %4 was replaced by $R ("%0" or "%3").
constexpr const char* kReplaced =
    "%0 = input() {index=0} : $T[2]\n"
    "%1 = constant() {value=$V} : $T[]\n"
    "%2 = reshape(%1) {shape=[1]} : $T[1]\n"
    "%3 = expand(%2) {shape=[2]} : $T[2]\n"
    "return $R\n";

std::string with_splat(const char* op, const char* type, const char* value, bool splat_first) {
  return absl::StrReplaceAll(
      kWithSplat,
      {{"$OP", op}, {"$T", type}, {"$V", value}, {"$ARGS", splat_first ? "%3, %0" : "%0, %3"}});
}

std::string replaced(const char* type, const char* value, const char* replacement) {
  return absl::StrReplaceAll(kReplaced, {{"$T", type}, {"$V", value}, {"$R", replacement}});
}

void expect_replaced(const char* op, const char* type, const char* value, bool splat_first,
                     const char* replacement = "%0") {
  SCOPED_TRACE(std::string(op) + " " + type + " " + value + (splat_first ? " (splat first)" : ""));
  SimplifyPass simplify;
  expect_golden(simplify, with_splat(op, type, value, splat_first),
                replaced(type, value, replacement));
}

void expect_kept(const char* op, const char* type, const char* value, bool splat_first) {
  SCOPED_TRACE(std::string(op) + " " + type + " " + value + (splat_first ? " (splat first)" : ""));
  SimplifyPass simplify;
  const std::string text = with_splat(op, type, value, splat_first);
  expect_golden(simplify, text, text);
}

TEST(Simplify, Name) { EXPECT_EQ(SimplifyPass().name(), "simplify"); }

TEST(Simplify, AddNegativeZeroIsTheFloatIdentity) {
  for (const char* t : {"f32", "f64", "f16", "bf16"}) {
    expect_replaced("add", t, "-0.0", false);
    expect_replaced("add", t, "-0.0", true);
  }
}

TEST(Simplify, AddPositiveZeroIsKeptForFloats) {
  // -0.0 + 0.0 is 0.0: dropping the add would turn -0.0 into -0.0 instead.
  for (const char* t : {"f32", "f64", "f16", "bf16"}) {
    expect_kept("add", t, "0.0", false);
    expect_kept("add", t, "0.0", true);
    expect_kept("add", t, "0", false);  // an integer 0 stored as a float is +0.0 too
  }
}

TEST(Simplify, AddZeroIsTheIntegerIdentity) {
  for (const char* t : {"i8", "i16", "i32", "i64", "u8"}) {
    expect_replaced("add", t, "0", false);
    expect_replaced("add", t, "0", true);
  }
  expect_replaced("add", "b8", "false", false);
  expect_replaced("add", "i8", "256", false);  // 256 wraps to 0 in int8
  expect_kept("add", "i32", "1", false);
}

TEST(Simplify, SubPositiveZero) {
  for (const char* t : {"f32", "f64", "f16", "bf16", "i32", "u8"})
    expect_replaced("sub", t, t[0] == 'f' || t[0] == 'b' ? "0.0" : "0", false);
}

TEST(Simplify, SubNegativeZeroIsKeptForFloats) {
  // -0.0 - -0.0 is 0.0.
  expect_kept("sub", "f32", "-0.0", false);
  expect_kept("sub", "f64", "-0.0", false);
}

TEST(Simplify, ZeroMinusXIsNegForIntegersOnly) {
  SimplifyPass simplify;
  expect_golden(simplify, with_splat("sub", "i32", "0", true),
                "%0 = input() {index=0} : i32[2]\n"
                "%1 = constant() {value=0} : i32[]\n"
                "%2 = reshape(%1) {shape=[1]} : i32[1]\n"
                "%3 = expand(%2) {shape=[2]} : i32[2]\n"
                "%4 = neg(%0) : i32[2]\n"
                "return %4\n");
  // 0.0 - 0.0 is 0.0 but neg(0.0) is -0.0; -0.0 - NaN keeps the NaN's sign, neg flips it.
  expect_kept("sub", "f32", "0.0", true);
  expect_kept("sub", "f32", "-0.0", true);
}

TEST(Simplify, MulByOne) {
  for (const char* t : {"f32", "f64", "f16", "bf16"}) {
    expect_replaced("mul", t, "1.0", false);
    expect_replaced("mul", t, "1.0", true);
  }
  expect_replaced("mul", "i64", "1", false);
  expect_replaced("mul", "u8", "1", true);
  expect_replaced("mul", "b8", "true", false);
  // 1.0001 is 1.0 once stored as float16.
  expect_replaced("mul", "f16", "1.0001", false);
  expect_kept("mul", "f32", "1.0001", false);
}

TEST(Simplify, MulByZeroIsKeptForFloats) {
  // NaN * 0, inf * 0 and -1 * 0 are NaN, NaN and -0.0, not 0.0.
  for (const char* t : {"f32", "f64", "f16", "bf16"}) {
    expect_kept("mul", t, "0.0", false);
    expect_kept("mul", t, "-0.0", true);
  }
}

TEST(Simplify, MulByZeroIsTheZeroSplatForIntegers) {
  expect_replaced("mul", "i32", "0", false, "%3");
  expect_replaced("mul", "i64", "0", true, "%3");
  expect_replaced("mul", "b8", "false", false, "%3");
}

TEST(Simplify, MulOrDivByMinusOneIsNegForIntegersOnly) {
  SimplifyPass simplify;
  for (const char* op : {"mul", "div"}) {
    SCOPED_TRACE(op);
    expect_golden(simplify, with_splat(op, "i16", "-1", false),
                  "%0 = input() {index=0} : i16[2]\n"
                  "%1 = constant() {value=-1} : i16[]\n"
                  "%2 = reshape(%1) {shape=[1]} : i16[1]\n"
                  "%3 = expand(%2) {shape=[2]} : i16[2]\n"
                  "%4 = neg(%0) : i16[2]\n"
                  "return %4\n");
    // NaN * -1 keeps the NaN's sign; neg flips it.
    expect_kept(op, "f32", "-1.0", false);
  }
}

TEST(Simplify, DivByOne) {
  expect_replaced("div", "f32", "1.0", false);
  expect_replaced("div", "f64", "1.0", false);
  expect_replaced("div", "i32", "1", false);
  expect_kept("div", "f32", "1.0", true);  // 1 / x is not x
}

TEST(Simplify, IntegerPowOfOneAndTwo) {
  expect_replaced("pow", "i64", "1", false);
  SimplifyPass simplify;
  expect_golden(simplify, with_splat("pow", "i32", "2", false),
                "%0 = input() {index=0} : i32[2]\n"
                "%1 = constant() {value=2} : i32[]\n"
                "%2 = reshape(%1) {shape=[1]} : i32[1]\n"
                "%3 = expand(%2) {shape=[2]} : i32[2]\n"
                "%4 = mul(%0, %0) : i32[2]\n"
                "return %4\n");
}

TEST(Simplify, FloatPowIsKept) {
  // glibc's pow(-nan, 1) is +nan, and pow(x, 2) need not round like x * x.
  for (const char* t : {"f32", "f64", "f16"}) {
    expect_kept("pow", t, "1.0", false);
    expect_kept("pow", t, "2.0", false);
  }
}

TEST(Simplify, NegNegCollapsesWholeChains) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = neg(%0) : f32[2]\n"
                "%2 = neg(%1) : f32[2]\n"
                "%3 = neg(%2) : f32[2]\n"
                "%4 = neg(%3) : f32[2]\n"
                "%5 = neg(%4) : f32[2]\n"
                "return %4, %5\n",
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = neg(%0) : f32[2]\n"
                "%2 = neg(%0) : f32[2]\n"
                "%3 = neg(%0) : f32[2]\n"
                "return %0, %3\n");
}

TEST(Simplify, LogicalNotNotOfBool) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : b8[2]\n"
                "%1 = logical_not(%0) : b8[2]\n"
                "%2 = logical_not(%1) : b8[2]\n"
                "return %2\n",
                "%0 = input() {index=0} : b8[2]\n"
                "%1 = logical_not(%0) : b8[2]\n"
                "return %0\n");
  // For a float x the double negation is x != 0, a bool: not x.
  const char* text =
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = logical_not(%0) : b8[2]\n"
      "%2 = logical_not(%1) : b8[2]\n"
      "return %2\n";
  expect_golden(simplify, text, text);
}

TEST(Simplify, IdempotentUnaryOps) {
  SimplifyPass simplify;
  for (const char* op : {"abs", "relu", "sign", "floor", "ceil", "round", "trunc"}) {
    SCOPED_TRACE(op);
    expect_golden(simplify,
                  absl::StrReplaceAll("%0 = input() {index=0} : f32[2]\n"
                                      "%1 = $OP(%0) : f32[2]\n"
                                      "%2 = $OP(%1) : f32[2]\n"
                                      "return %2\n",
                                      {{"$OP", op}}),
                  absl::StrReplaceAll("%0 = input() {index=0} : f32[2]\n"
                                      "%1 = $OP(%0) : f32[2]\n"
                                      "return %1\n",
                                      {{"$OP", op}}));
  }
}

TEST(Simplify, AbsOfNeg) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : f64[2]\n"
                "%1 = neg(%0) : f64[2]\n"
                "%2 = abs(%1) : f64[2]\n"
                "return %2\n",
                "%0 = input() {index=0} : f64[2]\n"
                "%1 = neg(%0) : f64[2]\n"
                "%2 = abs(%0) : f64[2]\n"
                "return %2\n");
}

TEST(Simplify, RoundingIntegersIsTheIdentity) {
  SimplifyPass simplify;
  for (const char* op : {"floor", "ceil", "round", "trunc"}) {
    SCOPED_TRACE(op);
    expect_golden(simplify,
                  absl::StrReplaceAll("%0 = input() {index=0} : i32[2]\n"
                                      "%1 = $OP(%0) : i32[2]\n"
                                      "return %1\n",
                                      {{"$OP", op}}),
                  "%0 = input() {index=0} : i32[2]\n"
                  "return %0\n");
  }
  const char* text =
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = floor(%0) : f32[2]\n"
      "return %1\n";
  expect_golden(simplify, text, text);
}

TEST(Simplify, MaximumMinimumOfOneValue) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : f32[2]\n"
                "%1 = maximum(%0, %0) : f32[2]\n"
                "%2 = minimum(%1, %1) : f32[2]\n"
                "return %2\n",
                "%0 = input() {index=0} : f32[2]\n"
                "return %0\n");
}

TEST(Simplify, CastToTheSameDType) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : bf16[2]\n"
                "%1 = cast(%0) {to=bf16} : bf16[2]\n"
                "return %1\n",
                "%0 = input() {index=0} : bf16[2]\n"
                "return %0\n");
}

TEST(Simplify, CastChainsThroughExactIntermediates) {
  SimplifyPass simplify;
  // int32 -> float64 is exact, so int32 -> float64 -> float32 rounds once, like int32 -> float32.
  expect_golden(simplify,
                "%0 = input() {index=0} : i32[2]\n"
                "%1 = cast(%0) {to=f64} : f64[2]\n"
                "%2 = cast(%1) {to=f32} : f32[2]\n"
                "return %2\n",
                "%0 = input() {index=0} : i32[2]\n"
                "%1 = cast(%0) {to=f64} : f64[2]\n"
                "%2 = cast(%0) {to=f32} : f32[2]\n"
                "return %2\n");
  // A round trip through a wider type is the identity.
  expect_golden(simplify,
                "%0 = input() {index=0} : f16[2]\n"
                "%1 = cast(%0) {to=f32} : f32[2]\n"
                "%2 = cast(%1) {to=f16} : f16[2]\n"
                "%3 = input() {index=1} : u8[2]\n"
                "%4 = cast(%3) {to=i16} : i16[2]\n"
                "%5 = cast(%4) {to=bf16} : bf16[2]\n"
                "%6 = cast(%5) {to=u8} : u8[2]\n"
                "return %2, %6\n",
                "%0 = input() {index=0} : f16[2]\n"
                "%1 = cast(%0) {to=f32} : f32[2]\n"
                "%2 = input() {index=1} : u8[2]\n"
                "%3 = cast(%2) {to=i16} : i16[2]\n"
                "%4 = cast(%2) {to=bf16} : bf16[2]\n"
                "return %0, %2\n");
  // bool converts exactly to anything.
  expect_golden(simplify,
                "%0 = input() {index=0} : b8[2]\n"
                "%1 = cast(%0) {to=f16} : f16[2]\n"
                "%2 = cast(%1) {to=i64} : i64[2]\n"
                "return %2\n",
                "%0 = input() {index=0} : b8[2]\n"
                "%1 = cast(%0) {to=f16} : f16[2]\n"
                "%2 = cast(%0) {to=i64} : i64[2]\n"
                "return %2\n");
}

TEST(Simplify, CastChainsThroughLossyIntermediatesAreKept) {
  SimplifyPass simplify;
  for (const auto& [x, a, b] : {
           std::tuple{"i32", "f32", "f64"},   // int32 does not fit float32's mantissa
           std::tuple{"i16", "f16", "f32"},   // nor int16 float16's
           std::tuple{"u8", "i8", "i32"},     // 255 wraps in int8
           std::tuple{"f64", "f32", "f64"},   // float64 -> float32 rounds
           std::tuple{"f16", "bf16", "f32"},  // and so does float16 -> bfloat16
           std::tuple{"f32", "i64", "f32"},   // truncation
           std::tuple{"i32", "b8", "i32"},    // truth
       }) {
    SCOPED_TRACE(absl::StrCat(x, " -> ", a, " -> ", b));
    const std::string text = absl::StrReplaceAll(
        "%0 = input() {index=0} : $X[2]\n"
        "%1 = cast(%0) {to=$A} : $A[2]\n"
        "%2 = cast(%1) {to=$B} : $B[2]\n"
        "return %2\n",
        {{"$X", x}, {"$A", a}, {"$B", b}});
    expect_golden(simplify, text, text);
  }
}

TEST(Simplify, ReshapeChains) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : f32[2, 3]\n"
                "%1 = reshape(%0) {shape=[6]} : f32[6]\n"
                "%2 = reshape(%1) {shape=[3, 2]} : f32[3, 2]\n"
                "%3 = reshape(%2) {shape=[2, 3]} : f32[2, 3]\n"
                "return %2, %3\n",
                "%0 = input() {index=0} : f32[2, 3]\n"
                "%1 = reshape(%0) {shape=[6]} : f32[6]\n"
                "%2 = reshape(%0) {shape=[3, 2]} : f32[3, 2]\n"
                "return %2, %0\n");
}

TEST(Simplify, PermuteIdentityAndComposition) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : f32[2, 3, 4]\n"
                "%1 = permute(%0) {perm=[0, 1, 2]} : f32[2, 3, 4]\n"
                "%2 = permute(%1) {perm=[1, 2, 0]} : f32[3, 4, 2]\n"
                "%3 = permute(%2) {perm=[1, 2, 0]} : f32[4, 2, 3]\n"
                "%4 = permute(%3) {perm=[1, 2, 0]} : f32[2, 3, 4]\n"
                "return %3, %4\n",
                "%0 = input() {index=0} : f32[2, 3, 4]\n"
                "%1 = permute(%0) {perm=[1, 2, 0]} : f32[3, 4, 2]\n"
                "%2 = permute(%0) {perm=[2, 0, 1]} : f32[4, 2, 3]\n"
                "return %2, %0\n");
}

TEST(Simplify, ExpandIdentityAndChains) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : f32[1, 3]\n"
                "%1 = expand(%0) {shape=[1, 3]} : f32[1, 3]\n"
                "%2 = expand(%1) {shape=[2, 3]} : f32[2, 3]\n"
                "%3 = reshape(%2) {shape=[1, 2, 3]} : f32[1, 2, 3]\n"
                "%4 = expand(%3) {shape=[4, 2, 3]} : f32[4, 2, 3]\n"
                "%5 = expand(%4) {shape=[4, 2, 3]} : f32[4, 2, 3]\n"
                "return %5\n",
                "%0 = input() {index=0} : f32[1, 3]\n"
                "%1 = expand(%0) {shape=[2, 3]} : f32[2, 3]\n"
                "%2 = reshape(%1) {shape=[1, 2, 3]} : f32[1, 2, 3]\n"
                "%3 = expand(%2) {shape=[4, 2, 3]} : f32[4, 2, 3]\n"
                "return %3\n");
  const char* nested =
      "%0 = input() {index=0} : f32[1, 1]\n"
      "%1 = expand(%0) {shape=[1, 3]} : f32[1, 3]\n"
      "%2 = expand(%1) {shape=[2, 3]} : f32[2, 3]\n"
      "return %2\n";
  expect_golden(simplify, nested,
                "%0 = input() {index=0} : f32[1, 1]\n"
                "%1 = expand(%0) {shape=[1, 3]} : f32[1, 3]\n"
                "%2 = expand(%0) {shape=[2, 3]} : f32[2, 3]\n"
                "return %2\n");
}

TEST(Simplify, WholeSlicesAndStridedIdentities) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : f32[2, 3]\n"
                "%1 = slice(%0) {dim=1, start=0, stop=3, step=1} : f32[2, 3]\n"
                "%2 = as_strided(%1) {sizes=[2, 3], strides=[3, 1], offset=0} : f32[2, 3]\n"
                "%3 = slice(%2) {dim=1, start=1, stop=3, step=1} : f32[2, 2]\n"
                "%4 = as_strided(%2) {sizes=[2, 3], strides=[1, 2], offset=0} : f32[2, 3]\n"
                "return %2, %3, %4\n",
                "%0 = input() {index=0} : f32[2, 3]\n"
                "%1 = slice(%0) {dim=1, start=1, stop=3, step=1} : f32[2, 2]\n"
                "%2 = as_strided(%0) {sizes=[2, 3], strides=[1, 2], offset=0} : f32[2, 3]\n"
                "return %0, %1, %2\n");
}

TEST(Simplify, WhereOfOneValueOrASplatCondition) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : b8[2]\n"
                "%1 = input() {index=1} : f32[2]\n"
                "%2 = input() {index=2} : f32[2]\n"
                "%3 = where(%0, %1, %1) : f32[2]\n"
                "%4 = constant() {value=true} : b8[]\n"
                "%5 = reshape(%4) {shape=[1]} : b8[1]\n"
                "%6 = expand(%5) {shape=[2]} : b8[2]\n"
                "%7 = where(%6, %1, %2) : f32[2]\n"
                "%8 = logical_not(%6) : b8[2]\n"
                "%9 = where(%8, %1, %2) : f32[2]\n"
                "return %3, %7, %9\n",
                "%0 = input() {index=0} : b8[2]\n"
                "%1 = input() {index=1} : f32[2]\n"
                "%2 = input() {index=2} : f32[2]\n"
                "%3 = constant() {value=true} : b8[]\n"
                "%4 = reshape(%3) {shape=[1]} : b8[1]\n"
                "%5 = expand(%4) {shape=[2]} : b8[2]\n"
                "%6 = logical_not(%5) : b8[2]\n"
                "%7 = where(%6, %1, %2) : f32[2]\n"
                "return %1, %1, %7\n");
}

TEST(Simplify, LogicalOpsWithSplatsOrOneOperand) {
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : b8[2]\n"
                "%1 = input() {index=1} : f32[2]\n"
                "%2 = constant() {value=true} : b8[]\n"
                "%3 = reshape(%2) {shape=[1]} : b8[1]\n"
                "%4 = expand(%3) {shape=[2]} : b8[2]\n"
                "%5 = logical_and(%0, %4) : b8[2]\n"
                "%6 = logical_or(%1, %4) : b8[2]\n"
                "%7 = logical_and(%1, %4) : b8[2]\n"
                "%8 = logical_or(%0, %0) : b8[2]\n"
                "return %5, %6, %7, %8\n",
                "%0 = input() {index=0} : b8[2]\n"
                "%1 = input() {index=1} : f32[2]\n"
                "%2 = constant() {value=true} : b8[]\n"
                "%3 = reshape(%2) {shape=[1]} : b8[1]\n"
                "%4 = expand(%3) {shape=[2]} : b8[2]\n"
                "%5 = logical_and(%1, %4) : b8[2]\n"
                "return %0, %4, %5, %0\n");
}

TEST(Simplify, SplatsSeenThroughMovementOps) {
  // A zero-d -0.0 reshaped, expanded and permuted is still the float identity of add.
  SimplifyPass simplify;
  expect_golden(simplify,
                "%0 = input() {index=0} : f32[3, 2]\n"
                "%1 = constant() {value=-0.0} : f32[]\n"
                "%2 = reshape(%1) {shape=[1, 1]} : f32[1, 1]\n"
                "%3 = expand(%2) {shape=[2, 3]} : f32[2, 3]\n"
                "%4 = permute(%3) {perm=[1, 0]} : f32[3, 2]\n"
                "%5 = add(%4, %0) : f32[3, 2]\n"
                "return %5\n",
                "%0 = input() {index=0} : f32[3, 2]\n"
                "%1 = constant() {value=-0.0} : f32[]\n"
                "%2 = reshape(%1) {shape=[1, 1]} : f32[1, 1]\n"
                "%3 = expand(%2) {shape=[2, 3]} : f32[2, 3]\n"
                "%4 = permute(%3) {perm=[1, 0]} : f32[3, 2]\n"
                "return %0\n");
}

TEST(Simplify, AfterConstantFoldingInTheRealizationOrder) {
  // x * (2 - 1): folding makes the splat 1 that simplify removes; CSE and DCE tidy up.
  auto g = ir::parse_graph(
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = constant() {value=2.0} : f32[]\n"
      "%2 = constant() {value=1.0} : f32[]\n"
      "%3 = sub(%1, %2) : f32[]\n"
      "%4 = reshape(%3) {shape=[1]} : f32[1]\n"
      "%5 = expand(%4) {shape=[2]} : f32[2]\n"
      "%6 = mul(%0, %5) : f32[2]\n"
      "return %6\n");
  ASSERT_TRUE(g.ok()) << g.status();
  auto pm = PassManager::from_pipeline("constant-fold,simplify,cse,dce");
  ASSERT_TRUE(pm.ok()) << pm.status();
  ASSERT_TRUE(pm->run(*g).ok());
  EXPECT_EQ(ir::to_string(*g),
            "%0 = input() {index=0} : f32[2]\n"
            "return %0\n");
}

TEST(Simplify, UnchangedGraphReportsNoChange) {
  SimplifyPass simplify;
  const char* text =
      "%0 = input() {index=0} : f32[2]\n"
      "%1 = input() {index=1} : f32[2]\n"
      "%2 = add(%0, %1) : f32[2]\n"
      "%3 = mul(%2, %2) : f32[2]\n"
      "return %3\n";
  expect_golden(simplify, text, text);
}

}  // namespace
}  // namespace kiln::passes
