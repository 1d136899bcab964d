// Golden tests of pow-scalar: which pow nodes become PyTorch's arithmetic, and which stay.
#include "kiln/passes/pow_scalar.h"

#include <gtest/gtest.h>

#include <string>

#include "passes/pass_test_util.h"

namespace kiln::passes {
namespace {

using testing::expect_golden;

// pow(%0, splat `exponent`) of dtype `type` ("f32[2]"), with the splat at %1..%3.
std::string pow_graph(const std::string& exponent, const std::string& type) {
  const std::string dtype = type.substr(0, type.find('['));
  return "%0 = input() {index=0} : " + type + "\n" +                       //
         "%1 = constant() {value=" + exponent + "} : " + dtype + "[]\n" +  //
         "%2 = reshape(%1) {shape=[1]} : " + dtype + "[1]\n" +             //
         "%3 = expand(%2) {shape=[2]} : " + type + "\n" +                  //
         "%4 = pow(%0, %3) : " + type + "\n" +                             //
         "return %4\n";
}

// The splat nodes stay (DCE removes them in the pipeline); the tail replaces the pow.
std::string with_tail(const std::string& exponent, const std::string& type,
                      const std::string& tail) {
  const std::string dtype = type.substr(0, type.find('['));
  return "%0 = input() {index=0} : " + type + "\n" +                       //
         "%1 = constant() {value=" + exponent + "} : " + dtype + "[]\n" +  //
         "%2 = reshape(%1) {shape=[1]} : " + dtype + "[1]\n" +             //
         "%3 = expand(%2) {shape=[2]} : " + type + "\n" + tail;
}

TEST(PowScalar, Name) { EXPECT_EQ(PowScalarPass().name(), "pow-scalar"); }

TEST(PowScalar, RewritesEachExponentPyTorchComputesWithoutPow) {
  PowScalarPass pass;
  expect_golden(pass, pow_graph("2.0", "f32[2]"),
                with_tail("2.0", "f32[2]", "%4 = mul(%0, %0) : f32[2]\nreturn %4\n"));
  expect_golden(pass, pow_graph("3.0", "f64[2]"),
                with_tail("3.0", "f64[2]",
                          "%4 = mul(%0, %0) : f64[2]\n%5 = mul(%4, %0) : f64[2]\nreturn %5\n"));
  expect_golden(pass, pow_graph("-1.0", "bf16[2]"),
                with_tail("-1.0", "bf16[2]", "%4 = reciprocal(%0) : bf16[2]\nreturn %4\n"));
  expect_golden(pass, pow_graph("-2.0", "f32[2]"),
                with_tail("-2.0", "f32[2]",
                          "%4 = mul(%0, %0) : f32[2]\n%5 = reciprocal(%4) : f32[2]\nreturn %5\n"));
  expect_golden(pass, pow_graph("0.5", "f32[2]"),
                with_tail("0.5", "f32[2]", "%4 = sqrt(%0) : f32[2]\nreturn %4\n"));
  expect_golden(pass, pow_graph("-0.5", "f32[2]"),
                with_tail("-0.5", "f32[2]", "%4 = rsqrt(%0) : f32[2]\nreturn %4\n"));
  // 1: x itself, float16 included.
  expect_golden(pass, pow_graph("1.0", "f16[2]"), with_tail("1.0", "f16[2]", "return %0\n"));
}

TEST(PowScalar, KeepsOtherExponentsFloat16IntegersAndTensorExponents) {
  PowScalarPass pass;
  for (const std::string& text :
       {pow_graph("4.0", "f32[2]"), pow_graph("0.0", "f32[2]"), pow_graph("2.5", "f32[2]"),
        pow_graph("3.0", "f16[2]"), pow_graph("3", "i64[2]"),
        std::string("%0 = input() {index=0} : f32[2]\n"
                    "%1 = input() {index=1} : f32[2]\n"
                    "%2 = pow(%0, %1) : f32[2]\n"
                    "return %2\n")}) {
    expect_golden(pass, text, text);
  }
}

}  // namespace
}  // namespace kiln::passes
