// Scalar code of the CUDA backend: dtype conversions and the elementwise ops of the loop IR in
// CUDA C, following the reference interpreter (backends/interp/elementwise.cpp, binary.cpp)
// as the CPU backend's codegen_expr.cpp does in LLVM IR.
#include "kiln/backends/cuda/codegen_expr.h"

#include "absl/strings/str_cat.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cuda::codegen {
namespace {

using ir::Op;

bool is_f64(const std::string& c) { return c == "double"; }

// A CUDA math function on a compute value: `name` + "f" for float.
std::string math(const char* name, const std::string& c, const std::string& x) {
  return absl::StrCat(name, is_f64(c) ? "" : "f", "(", x, ")");
}

std::string one(const std::string& c) { return is_f64(c) ? "1.0" : "1.0f"; }
std::string zero(const std::string& c) {
  if (c == "i64") return "(i64)0";
  return is_f64(c) ? "0.0" : "0.0f";
}

std::string unary(Op op, const std::string& c, const std::string& x) {
  const bool floating = c != "i64";
  const std::string z = zero(c);
  switch (op) {
    case Op::neg:
      return floating ? absl::StrCat("(-", x, ")") : absl::StrCat("k_sub(0, ", x, ")");
    case Op::abs:
      return floating ? math("fabs", c, x)
                      : absl::StrCat("(", x, " < 0 ? k_sub(0, ", x, ") : ", x, ")");
    case Op::sign:
      return absl::StrCat("(", c, ")((int)(", z, " < ", x, ") - (int)(", x, " < ", z, "))");
    case Op::relu:
      return absl::StrCat("(", x, " < ", z, " ? ", z, " : ", x, ")");
    case Op::sqrt:
      return math("sqrt", c, x);
    case Op::rsqrt:
      return absl::StrCat("(", one(c), " / ", math("sqrt", c, x), ")");
    case Op::reciprocal:
      return absl::StrCat("(", one(c), " / ", x, ")");
    case Op::exp:
      return math("exp", c, x);
    case Op::expm1:
      return math("expm1", c, x);
    case Op::log:
      return math("log", c, x);
    case Op::log2:
      return math("log2", c, x);
    case Op::log10:
      return math("log10", c, x);
    case Op::log1p:
      return math("log1p", c, x);
    case Op::sin:
      return math("sin", c, x);
    case Op::cos:
      return math("cos", c, x);
    case Op::tan:
      return math("tan", c, x);
    case Op::tanh:
      return math("tanh", c, x);
    case Op::sigmoid:
      return absl::StrCat("(", one(c), " / (", one(c), " + ", math("exp", c, "-" + x), "))");
    case Op::erf:
      return math("erf", c, x);
    case Op::floor:
      return floating ? math("floor", c, x) : x;
    case Op::ceil:
      return floating ? math("ceil", c, x) : x;
    case Op::round:  // half to even
      return floating ? math("rint", c, x) : x;
    case Op::trunc:
      return floating ? math("trunc", c, x) : x;
    default:
      break;
  }
  throw Error(absl::StrCat("cuda codegen: ", sv(ir::op_name(op)), " is not a unary op"));
}

std::string binary(Op op, const std::string& c, const std::string& x, const std::string& y,
                   const std::string& error_word, const Scalar* exponent) {
  const bool floating = c != "i64";
  switch (op) {
    case Op::add:
      return floating ? absl::StrCat("(", x, " + ", y, ")")
                      : absl::StrCat("k_add(", x, ", ", y, ")");
    case Op::sub:
      return floating ? absl::StrCat("(", x, " - ", y, ")")
                      : absl::StrCat("k_sub(", x, ", ", y, ")");
    case Op::mul:
      return floating ? absl::StrCat("(", x, " * ", y, ")")
                      : absl::StrCat("k_mul(", x, ", ", y, ")");
    case Op::div:
      return floating ? absl::StrCat("(", x, " / ", y, ")")
                      : absl::StrCat("k_div(", x, ", ", y, ", ", error_word, ")");
    case Op::pow:
      if (!floating) return absl::StrCat("k_ipow(", x, ", ", y, ")");
      // x ** 2 is x * x (one rounding, as a correctly rounded pow gives).
      if (exponent != nullptr && exponent->is_floating_point() && exponent->to_double() == 2.0)
        return absl::StrCat("(", x, " * ", x, ")");
      return absl::StrCat(is_f64(c) ? "pow(" : "powf(", x, ", ", y, ")");
    case Op::maximum:
      return absl::StrCat(floating ? (is_f64(c) ? "k_maxd(" : "k_maxf(") : "k_maxi(", x, ", ", y,
                          ")");
    case Op::minimum:
      return absl::StrCat(floating ? (is_f64(c) ? "k_mind(" : "k_minf(") : "k_mini(", x, ", ", y,
                          ")");
    default:
      break;
  }
  throw Error(absl::StrCat("cuda codegen: ", sv(ir::op_name(op)), " is not a binary op"));
}

const char* compare_op(Op op) {
  switch (op) {
    case Op::eq:
      return " == ";
    case Op::ne:
      return " != ";
    case Op::lt:
      return " < ";
    case Op::le:
      return " <= ";
    case Op::gt:
      return " > ";
    case Op::ge:
      return " >= ";
    default:
      break;
  }
  throw Error(absl::StrCat("cuda codegen: ", sv(ir::op_name(op)), " is not a comparison"));
}

// Truth value (x != 0; NaN is true) of a compute value.
std::string truth(const std::string& c) { return absl::StrCat("(", c, " != 0)"); }

std::string cast(DType from, DType to, const std::string& v) {
  const std::string x = to_compute(from, v);
  if (to == boolean) return truth(x);  // 0.5 and NaN are true
  const std::string from_c = compute_type(from), to_c = compute_type(to);
  std::string c;
  if (to_c == "i64") {
    c = from_c == "i64" ? x : absl::StrCat("k_f2i((double)", x, ")");
  } else {
    c = from_c == to_c ? x : absl::StrCat("(", to_c, ")", x);  // one rounding
  }
  return from_compute(to, c);
}

}  // namespace

std::string memory_type(DType t) {
  switch (t.kind()) {
    case DType::Kind::kFloat32:
      return "float";
    case DType::Kind::kFloat64:
      return "double";
    case DType::Kind::kFloat16:
    case DType::Kind::kBFloat16:
      return "u16";
    case DType::Kind::kInt8:
      return "signed char";
    case DType::Kind::kInt16:
      return "short";
    case DType::Kind::kInt32:
      return "int";
    case DType::Kind::kInt64:
      return "i64";
    case DType::Kind::kUInt8:
    case DType::Kind::kBool:
      return "unsigned char";
  }
  throw Error("cuda codegen: unknown dtype");
}

std::string value_type(DType t) { return t == boolean ? "bool" : memory_type(t); }

std::string compute_type(DType t) {
  if (t == float64) return "double";
  if (is_floating_point(t)) return "float";
  return "i64";
}

std::string from_bits(DType t, const std::string& bits) {
  switch (t.kind()) {
    case DType::Kind::kFloat32:
      return absl::StrCat("__uint_as_float((u32)(", bits, "))");
    case DType::Kind::kFloat64:
      return absl::StrCat("__longlong_as_double((i64)(", bits, "))");
    case DType::Kind::kBool:
      return absl::StrCat("((", bits, ") != 0)");
    default:
      return absl::StrCat("(", memory_type(t), ")(", bits, ")");
  }
}

std::string from_memory(DType t, const std::string& m) {
  // Any nonzero byte reads as true, like the interpreter's load of a bool.
  if (t == boolean) return absl::StrCat("(", m, " != 0)");
  return m;
}

std::string to_memory(DType t, const std::string& v) {
  if (t == boolean) return absl::StrCat("(unsigned char)(", v, ")");
  return v;
}

std::string to_compute(DType t, const std::string& v) {
  switch (t.kind()) {
    case DType::Kind::kFloat32:
    case DType::Kind::kFloat64:
      return v;
    case DType::Kind::kFloat16:
      return absl::StrCat("k_h2f(", v, ")");
    case DType::Kind::kBFloat16:
      return absl::StrCat("k_b2f(", v, ")");
    default:
      return absl::StrCat("(i64)(", v, ")");
  }
}

std::string from_compute(DType t, const std::string& c) {
  switch (t.kind()) {
    case DType::Kind::kFloat32:
    case DType::Kind::kFloat64:
      return c;
    case DType::Kind::kFloat16:
      return absl::StrCat("k_f2h(", c, ")");
    case DType::Kind::kBFloat16:
      return absl::StrCat("k_f2b(", c, ")");
    case DType::Kind::kBool:
      return absl::StrCat("(", c, " != 0)");
    default:  // wraps to the stored width
      return absl::StrCat("(", memory_type(t), ")(u64)(", c, ")");
  }
}

std::string op_expr(Op op, DType result, absl::Span<const DType> types,
                    absl::Span<const std::string> v, const std::string& error_word,
                    const Scalar* constant_exponent) {
  if (op == Op::cast) return cast(types[0], result, v[0]);
  // where selects storage values, as the interpreter copies bytes.
  if (op == Op::where) return absl::StrCat("(", v[0], " ? ", v[1], " : ", v[2], ")");
  if (op == Op::logical_not) return absl::StrCat("(!", truth(to_compute(types[0], v[0])), ")");
  if (op == Op::logical_and || op == Op::logical_or)
    return absl::StrCat("(", truth(to_compute(types[0], v[0])),
                        op == Op::logical_and ? " && " : " || ", truth(to_compute(types[1], v[1])),
                        ")");
  if (ir::has_trait(op, ir::kComparison))
    return absl::StrCat("(", to_compute(types[0], v[0]), compare_op(op), to_compute(types[1], v[1]),
                        ")");
  const std::string c = compute_type(types[0]);
  if (v.size() == 1) return from_compute(result, unary(op, c, to_compute(types[0], v[0])));
  if (v.size() == 2)
    return from_compute(result, binary(op, c, to_compute(types[0], v[0]),
                                       to_compute(types[1], v[1]), error_word, constant_exponent));
  throw Error(absl::StrCat("cuda codegen: cannot emit ", sv(ir::op_name(op))));
}

}  // namespace kiln::backends::cuda::codegen
