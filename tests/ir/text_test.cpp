// Printer and parser: the exact format, a round trip for every op and every kind of scalar,
// comments and whitespace, and error messages with line numbers.
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "ir/op_samples.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/graph.h"

namespace kiln::ir {
namespace {

using testing::sample_graph;
using testing::ty;

void expect_same_graph(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.size(), b.size());
  for (ValueId id = 0; id < a.size(); ++id) {
    SCOPED_TRACE(::testing::Message() << "node %" << id);
    EXPECT_EQ(a.node(id).op, b.node(id).op);
    EXPECT_EQ(a.node(id).type, b.node(id).type);
    EXPECT_EQ(a.node(id).inputs, b.node(id).inputs);
    EXPECT_TRUE(a.node(id).attrs == b.node(id).attrs);
  }
  EXPECT_EQ(a.outputs(), b.outputs());
  EXPECT_EQ(a.num_inputs(), b.num_inputs());
}

// Prints g, parses the text back, and checks that the result is the same graph.
void expect_round_trip(const Graph& g) {
  const std::string text = to_string(g);
  SCOPED_TRACE(text);
  auto parsed = parse_graph(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(to_string(*parsed), text);
  expect_same_graph(g, *parsed);
}

TEST(Printer, MatchesTheDocumentedFormat) {
  Graph g;
  const ValueId x = g.add_input(ty(float32, {2, 3}));
  const ValueId c = g.add_constant(2.5, float32);
  const ValueId e =
      *g.add(Op::expand, {*g.add(Op::reshape, {c}, ShapeAttrs{{1, 1}})}, ShapeAttrs{{2, 3}});
  const ValueId y = *g.add(Op::add, {x, e}, NoAttrs{});
  const ValueId s = *g.add(Op::sum, {y}, ReduceAttrs{{0, 1}, false});
  g.set_outputs({y, s});
  EXPECT_EQ(to_string(g),
            "%0 = input() {index=0} : f32[2, 3]\n"
            "%1 = constant() {value=2.5} : f32[]\n"
            "%2 = reshape(%1) {shape=[1, 1]} : f32[1, 1]\n"
            "%3 = expand(%2) {shape=[2, 3]} : f32[2, 3]\n"
            "%4 = add(%0, %3) : f32[2, 3]\n"
            "%5 = sum(%4) {axes=[0, 1], keepdim=false} : f32[]\n"
            "return %4, %5\n");
  std::ostringstream os;
  os << g;
  EXPECT_EQ(os.str(), to_string(g));
}

TEST(Printer, PrintsEveryAttributeStructInFieldOrder) {
  Graph g;
  const ValueId x = g.add_input(ty(int32, {4, 6}));
  g.add_node(Node{Op::cast, ty(float64, {4, 6}), {x}, CastAttrs{float64}});
  g.add_node(Node{Op::permute, ty(int32, {6, 4}), {x}, PermuteAttrs{{1, 0}}});
  g.add_node(Node{Op::slice, ty(int32, {4, 2}), {x}, SliceAttrs{1, 0, 6, 3}});
  g.add_node(Node{Op::as_strided, ty(int32, {2}), {x}, StridedAttrs{{2}, {5}, 0}});
  g.add_node(Node{Op::cat, ty(int32, {8, 6}), {x, x}, AxisAttrs{0}});
  g.add_node(Node{Op::index_put, ty(int32, {4, 6}), {x, x, x}, IndexPutAttrs{1, false}});
  EXPECT_EQ(to_string(g),
            "%0 = input() {index=0} : i32[4, 6]\n"
            "%1 = cast(%0) {to=f64} : f64[4, 6]\n"
            "%2 = permute(%0) {perm=[1, 0]} : i32[6, 4]\n"
            "%3 = slice(%0) {dim=1, start=0, stop=6, step=3} : i32[4, 2]\n"
            "%4 = as_strided(%0) {sizes=[2], strides=[5], offset=0} : i32[2]\n"
            "%5 = cat(%0, %0) {dim=0} : i32[8, 6]\n"
            "%6 = index_put(%0, %0, %0) {dim=1, accumulate=false} : i32[4, 6]\n"
            "return\n");
}

TEST(Printer, ZeroDimensionalAndEmptyShapes) {
  Graph g;
  g.add_input(TensorType{boolean});
  g.add_input(ty(uint8, {0, 3}));
  g.set_outputs({1, 0});
  EXPECT_EQ(to_string(g),
            "%0 = input() {index=0} : b8[]\n"
            "%1 = input() {index=1} : u8[0, 3]\n"
            "return %1, %0\n");
  expect_round_trip(g);
}

TEST(Printer, EmptyGraph) {
  EXPECT_EQ(to_string(Graph{}), "return\n");
  expect_round_trip(Graph{});
}

// Every op in the table prints and parses back to the same graph, and the sample verifies.
TEST(RoundTrip, EveryOp) {
  for (int i = 0; i < kNumOps; ++i) {
    const Op op = static_cast<Op>(i);
    SCOPED_TRACE(std::string(op_name(op)));
    auto g = sample_graph(op);
    ASSERT_TRUE(g.ok()) << g.status();
    ASSERT_TRUE(verify(*g).ok()) << verify(*g);
    EXPECT_EQ(g->node(g->outputs()[0]).op, op);
    EXPECT_NE(to_string(*g).find(absl::StrCat(" = ", sv(op_name(op)), "(")), std::string::npos);
    expect_round_trip(*g);
  }
}

TEST(RoundTrip, EveryDType) {
  Graph g;
  for (DType t : kAllDTypes) g.add_input(ty(t, {1, 2}));
  expect_round_trip(g);
}

uint64_t bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

std::string printed_value(Scalar v) {
  Graph g;
  g.add_constant(v, float64);
  const std::string text = to_string(g);
  const size_t begin = text.find("value=") + 6;
  return text.substr(begin, text.find('}') - begin);
}

TEST(RoundTrip, ScalarsPrintDistinguishably) {
  EXPECT_EQ(printed_value(true), "true");
  EXPECT_EQ(printed_value(false), "false");
  EXPECT_EQ(printed_value(2), "2");
  EXPECT_EQ(printed_value(int64_t{-7}), "-7");
  EXPECT_EQ(printed_value(2.0), "2.0");
  EXPECT_EQ(printed_value(0.1), "0.1");
  EXPECT_EQ(printed_value(1e-30), "1e-30");
  EXPECT_EQ(printed_value(1e20), "1e+20");
  EXPECT_EQ(printed_value(-0.0), "-0.0");
  EXPECT_EQ(printed_value(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(printed_value(-std::numeric_limits<double>::quiet_NaN()), "-nan");
  EXPECT_EQ(printed_value(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(printed_value(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(printed_value(2.5f), "2.5");
}

TEST(RoundTrip, ScalarsAreBitExact) {
  double payload_nan;
  const uint64_t payload_bits = 0x7ff0000000000123;
  std::memcpy(&payload_nan, &payload_bits, sizeof payload_nan);
  const Scalar values[] = {true,
                           false,
                           0,
                           1,
                           -1,
                           std::numeric_limits<int64_t>::min(),
                           std::numeric_limits<int64_t>::max(),
                           0.0,
                           -0.0,
                           2.0,
                           0.1,
                           1e-30,
                           1.0 / 3,
                           1e16,
                           123456789012345678.0,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN(),
                           -std::numeric_limits<double>::quiet_NaN(),
                           payload_nan,
                           3.4028234663852886e38,
                           static_cast<double>(0.1f)};
  for (const Scalar& v : values) {
    Graph g;
    g.add_constant(v, float64);
    SCOPED_TRACE(to_string(g));
    auto parsed = parse_graph(to_string(g));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    const Scalar back = std::get<ConstantAttrs>(parsed->node(0).attrs).value;
    EXPECT_EQ(back.kind(), v.kind());
    if (v.is_floating_point())
      EXPECT_EQ(bits(back.to_double()), bits(v.to_double()));
    else
      EXPECT_EQ(back.to_int64(), v.to_int64());
    EXPECT_TRUE(back == v);
  }
}

TEST(Parser, IgnoresCommentsBlankLinesAndSpacing) {
  auto g = parse_graph(
      "# a graph with comments\n"
      "\n"
      "  %0   =   input( )  { index = 0 }  :  f32 [ 2 ,3 ]   // the argument\r\n"
      "%1 = constant() {value=-1.5} : f32[]\n"
      "%2=reshape(%1){shape=[1,1]}:f32[1,1]\n"
      "\t%3 = expand(%2) {shape=[2, 3]} : f32[2, 3]\n"
      "%4 = mul(%0,%3) : f32[2, 3]  # scale\n"
      "return %4   \n"
      "// trailing comment\n");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(verify(*g).ok());
  EXPECT_EQ(to_string(*g),
            "%0 = input() {index=0} : f32[2, 3]\n"
            "%1 = constant() {value=-1.5} : f32[]\n"
            "%2 = reshape(%1) {shape=[1, 1]} : f32[1, 1]\n"
            "%3 = expand(%2) {shape=[2, 3]} : f32[2, 3]\n"
            "%4 = mul(%0, %3) : f32[2, 3]\n"
            "return %4\n");
}

TEST(Parser, AcceptsEmptyBracesForOpsWithoutAttributes) {
  auto g = parse_graph("%0 = input() {index=0} : f32[2]\n%1 = neg(%0) {} : f32[2]\nreturn %1");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->node(1).op, Op::neg);
}

TEST(Parser, LeavesSemanticChecksToTheVerifier) {
  // Well-formed text for an ill-typed graph parses; verify() rejects it.
  auto g = parse_graph("%0 = input() {index=0} : f32[2]\n%1 = neg(%0, %0) : f32[3]\nreturn %1");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_FALSE(verify(*g).ok());
}

struct ParseErrorCase {
  const char* text;
  const char* message;  // expected substring of the error, line number included
};

class ParseErrors : public ::testing::TestWithParam<ParseErrorCase> {};

TEST_P(ParseErrors, ReportLineAndReason) {
  auto g = parse_graph(GetParam().text);
  ASSERT_FALSE(g.ok()) << "parsed:\n" << to_string(*g);
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(g.status().message()).find(GetParam().message), std::string::npos)
      << g.status();
}

INSTANTIATE_TEST_SUITE_P(
    Parser, ParseErrors,
    ::testing::Values(
        ParseErrorCase{"%0 = frobnicate() : f32[]\nreturn", "line 1: unknown op 'frobnicate'"},
        ParseErrorCase{"%0 = input() {index=0} : f33[2]\nreturn", "line 1: unknown dtype 'f33'"},
        ParseErrorCase{"%0 = input() {index=0} : f32(2)\nreturn", "line 1: expected '['"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2,\nreturn", "line 1: expected an integer"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2 3]\nreturn", "line 1: expected ']'"},
        ParseErrorCase{"%0 = input() {index=0} : f32\nreturn", "line 1: expected '['"},
        ParseErrorCase{"%0 = input() {index=0}\nreturn", "line 1: expected ':' before the type"},
        ParseErrorCase{"%0 = input() {index=0} : f32[99999999999999999999]\nreturn",
                       "line 1: integer 99999999999999999999 out of range"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%1 = neg(%5) : f32[2]\nreturn",
                       "line 2: operand %5 is not defined before its use"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%1 = neg(%1) : f32[2]\nreturn",
                       "line 2: operand %1 is not defined before its use"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%1 = neg(0) : f32[2]\nreturn",
                       "line 2: expected a value %N"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%1 = neg(%0 : f32[2]\nreturn",
                       "line 2: expected ')' after the operands"},
        ParseErrorCase{"%0 = input() {idx=0} : f32[2]\nreturn",
                       "line 1: expected attribute key 'index', got 'idx'"},
        ParseErrorCase{"%0 = input() : f32[2]\nreturn", "line 1: expected '{' before input"},
        ParseErrorCase{"%0 = input() {index=0, extra=1} : f32[2]\nreturn",
                       "line 1: unexpected extra attribute"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%1 = sum(%0) {keepdim=false, axes=[0]} "
                       ": f32[]\nreturn",
                       "line 2: expected attribute key 'axes', got 'keepdim'"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%1 = sum(%0) {axes=[0]} : f32[]\nreturn",
                       "line 2: expected ', keepdim=' in attributes"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%1 = sum(%0) {axes=[0], keepdim=no} "
                       ": f32[]\nreturn",
                       "line 2: expected true or false, got 'no'"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%1 = cast(%0) {to=float64} : f64[2]\n"
                       "return",
                       "line 2: unknown dtype 'float64'"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%1 = neg(%0) {dim=0} : f32[2]\nreturn",
                       "line 2: neg takes no attributes"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%1 = input() {index=zero} : f32[2]\n",
                       "line 2: expected an integer"},
        ParseErrorCase{"%0 = constant() {value=abc} : f32[]\nreturn", "line 1: bad scalar abc"},
        ParseErrorCase{"%0 = constant() {value=1.2.3} : f32[]\nreturn", "line 1: bad number 1.2.3"},
        ParseErrorCase{"%0 = constant() {value=infinity} : f32[]\nreturn",
                       "line 1: bad number infinity"},
        ParseErrorCase{"%0 = constant() {value=nan(0x1)} : f32[]\nreturn",
                       "line 1: bad NaN payload"},
        ParseErrorCase{"%0 = constant() {value=} : f32[]\nreturn", "line 1: expected a scalar"},
        ParseErrorCase{"%0 = constant() {value=-9223372036854775809} : f32[]\nreturn",
                       "line 1: integer -9223372036854775809 out of range"},
        ParseErrorCase{"%1 = input() {index=0} : f32[2]\nreturn",
                       "line 1: expected %0 (ids are numbered in order), got %1"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n%0 = input() {index=1} : f32[2]\nreturn",
                       "line 2: expected %1"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n\n# comment\n%2 = neg(%0) : f32[2]\n",
                       "line 4: expected %1"},
        ParseErrorCase{"%99999999999 = input() {index=0} : f32[2]\nreturn",
                       "line 1: bad value id %99999999999"},
        ParseErrorCase{"%-1 = input() {index=0} : f32[2]\nreturn", "line 1: bad value id %-1"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2] trailing\nreturn", "line 1: unexpected"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\n", "line 2: missing 'return' line"},
        ParseErrorCase{"", "line 1: missing 'return' line"},
        ParseErrorCase{"return\n%0 = input() {index=0} : f32[2]\n", "line 2: text after 'return'"},
        ParseErrorCase{"return\nreturn\n", "line 2: text after 'return'"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\nreturn %1\n",
                       "line 2: operand %1 is not defined"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\nreturn %0 %0\n", "line 2: unexpected"},
        ParseErrorCase{"%0 = input() {index=0} : f32[2]\nreturn %0,\n",
                       "line 2: expected a value %N"},
        ParseErrorCase{"hello world\nreturn", "line 1: expected '%N = op(...)' or 'return'"},
        ParseErrorCase{"%0 input() {index=0} : f32[2]\nreturn",
                       "line 1: expected '=' after the value id"}));

}  // namespace
}  // namespace kiln::ir
