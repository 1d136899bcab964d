// The textual IR: printer and parser. Both walk the same per-struct field lists
// (for_each_field), so an attribute printed under a key is parsed back under that key.
//
//   %0 = input() {index=0} : f32[2, 3]
//   %1 = constant() {value=2.5} : f32[]
//   %2 = expand(%1) {shape=[2, 3]} : f32[2, 3]
//   %3 = add(%0, %2) : f32[2, 3]
//   return %3
//
// The parser checks syntax and references (ids numbered in order, operands defined before
// use); semantic checks (arity, types, input numbering) are the verifier's job, so that
// invalid graphs can be written down in tests.
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/graph.h"

namespace kiln::ir {
namespace {

// ---- field lists (one per attribute struct, in declaration order) ----

template <class F>
void for_each_field(NoAttrs&, F&) {}
template <class F>
void for_each_field(InputAttrs& a, F& f) {
  f("index", a.index);
}
template <class F>
void for_each_field(ConstantAttrs& a, F& f) {
  f("value", a.value);
}
template <class F>
void for_each_field(CastAttrs& a, F& f) {
  f("to", a.to);
}
template <class F>
void for_each_field(ReduceAttrs& a, F& f) {
  f("axes", a.axes);
  f("keepdim", a.keepdim);
}
template <class F>
void for_each_field(ShapeAttrs& a, F& f) {
  f("shape", a.shape);
}
template <class F>
void for_each_field(PermuteAttrs& a, F& f) {
  f("perm", a.perm);
}
template <class F>
void for_each_field(SliceAttrs& a, F& f) {
  f("dim", a.dim);
  f("start", a.start);
  f("stop", a.stop);
  f("step", a.step);
}
template <class F>
void for_each_field(StridedAttrs& a, F& f) {
  f("sizes", a.sizes);
  f("strides", a.strides);
  f("offset", a.offset);
}
template <class F>
void for_each_field(AxisAttrs& a, F& f) {
  f("dim", a.dim);
}
template <class F>
void for_each_field(IndexPutAttrs& a, F& f) {
  f("dim", a.dim);
  f("accumulate", a.accumulate);
}

// ---- floating-point text ----

constexpr uint64_t kSignBit = uint64_t{1} << 63;
constexpr uint64_t kQuietNaNBits = 0x7ff8000000000000;

uint64_t bits_of(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

double double_from_bits(uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}

// Shortest text that reads back to the same bits, always recognisable as floating: "2.0",
// "1e-30", "-0.0", "inf". NaNs other than the two canonical ones keep their payload in hex.
std::string format_double(double d) {
  if (std::isnan(d)) {
    const uint64_t b = bits_of(d);
    if (b == kQuietNaNBits) return "nan";
    if (b == (kQuietNaNBits | kSignBit)) return "-nan";
    return absl::StrFormat("nan(0x%016x)", b);
  }
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// ---- printer ----

void append_value(std::string* out, int64_t v) { absl::StrAppend(out, v); }
void append_value(std::string* out, bool v) { out->append(v ? "true" : "false"); }
void append_value(std::string* out, DType v) { out->append(short_name(v)); }
void append_value(std::string* out, const Shape& v) { out->append(shape_to_string(v)); }
void append_value(std::string* out, const Scalar& v) {
  switch (v.kind()) {
    case Scalar::Kind::kBool:
      return append_value(out, v.to_bool());
    case Scalar::Kind::kInt:
      return append_value(out, v.to_int64());
    case Scalar::Kind::kFloat:
      out->append(format_double(v.to_double()));
      return;
  }
}

struct FieldPrinter {
  std::string* out;
  bool first = true;
  template <class T>
  void operator()(std::string_view key, const T& value) {
    absl::StrAppend(out, first ? "" : ", ", sv(key), "=");
    first = false;
    append_value(out, value);
  }
};

void append_attrs(std::string* out, const Attrs& attrs) {
  if (std::holds_alternative<NoAttrs>(attrs)) return;
  Attrs copy = attrs;  // the field lists hand out mutable references; printing reads a copy
  out->append(" {");
  FieldPrinter printer{out};
  std::visit([&](auto& a) { for_each_field(a, printer); }, copy);
  out->append("}");
}

void append_node(std::string* out, ValueId id, const Node& n) {
  absl::StrAppend(out, "%", id, " = ", sv(op_name(n.op)), "(");
  for (size_t i = 0; i < n.inputs.size(); ++i)
    absl::StrAppend(out, i ? ", " : "", "%", n.inputs[i]);
  out->append(")");
  append_attrs(out, n.attrs);
  absl::StrAppend(out, " : ", to_string(n.type), "\n");
}

// ---- parser ----

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// A cursor over one line (comments already removed). Errors are plain messages; the caller
// prefixes the line number.
class LineParser {
 public:
  explicit LineParser(std::string_view line) : s_(line) {}

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  bool at_end() {
    skip_space();
    return pos_ == s_.size();
  }
  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  bool consume(char c) {
    if (!peek(c)) return false;
    ++pos_;
    return true;
  }
  absl::Status expect(char c, std::string_view where) {
    if (consume(c)) return absl::OkStatus();
    return error(absl::StrCat("expected '", absl::string_view(&c, 1), "' ", sv(where), ", got ",
                              describe_next()));
  }
  std::string_view ident() {
    skip_space();
    const size_t begin = pos_;
    while (pos_ < s_.size() && is_ident_char(s_[pos_])) ++pos_;
    return s_.substr(begin, pos_ - begin);
  }
  absl::StatusOr<int64_t> integer() {
    skip_space();
    const size_t begin = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    const std::string_view text = s_.substr(begin, pos_ - begin);
    if (text.empty() || text == "-") {
      pos_ = begin;
      return error(absl::StrCat("expected an integer, got ", describe_next()));
    }
    int64_t v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec != std::errc()) return error(absl::StrCat("integer ", sv(text), " out of range"));
    return v;
  }
  // %N, with N a non-negative 32-bit id.
  absl::StatusOr<ValueId> value_id() {
    if (!consume('%')) return error(absl::StrCat("expected a value %N, got ", describe_next()));
    auto v = integer();
    if (!v.ok()) return v.status();
    if (*v < 0 || *v > std::numeric_limits<ValueId>::max())
      return error(absl::StrCat("bad value id %", *v));
    return static_cast<ValueId>(*v);
  }
  // The raw text of a scalar: a run of [A-Za-z0-9_.+-], plus "(...)" after a NaN.
  std::string_view scalar_text() {
    skip_space();
    const size_t begin = pos_;
    while (pos_ < s_.size() &&
           (is_ident_char(s_[pos_]) || s_[pos_] == '.' || s_[pos_] == '+' || s_[pos_] == '-'))
      ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '(') {
      const size_t close = s_.find(')', pos_);
      if (close != std::string_view::npos) pos_ = close + 1;
    }
    return s_.substr(begin, pos_ - begin);
  }
  std::string describe_next() {
    skip_space();
    if (pos_ == s_.size()) return "end of line";
    return absl::StrCat("'", sv(s_.substr(pos_, 12)), "'");
  }
  static absl::Status error(std::string_view message) {
    return absl::InvalidArgumentError(sv(message));
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

absl::StatusOr<double> parse_double(std::string_view t) {
  const bool negative = !t.empty() && t[0] == '-';
  const std::string_view body = negative ? t.substr(1) : t;
  const uint64_t sign = negative ? kSignBit : 0;
  if (body == "nan") return double_from_bits(kQuietNaNBits | sign);
  if (body == "inf") return double_from_bits(0x7ff0000000000000 | sign);
  if (body.substr(0, 6) == "nan(0x" && body.back() == ')' && !negative) {
    const std::string_view hex = body.substr(6, body.size() - 7);
    uint64_t b = 0;
    const auto r = std::from_chars(hex.data(), hex.data() + hex.size(), b, 16);
    if (r.ec != std::errc() || r.ptr != hex.data() + hex.size() || !std::isnan(double_from_bits(b)))
      return LineParser::error(absl::StrCat("bad NaN payload ", sv(t)));
    return double_from_bits(b);
  }
  // from_chars would also read "infinity" and hex floats; the printer writes neither.
  for (char c : body)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
      return LineParser::error(absl::StrCat("bad number ", sv(t)));
  double d = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), d);
  if (r.ec != std::errc() || r.ptr != t.data() + t.size())
    return LineParser::error(absl::StrCat("bad number ", sv(t)));
  return d;
}

absl::StatusOr<Scalar> parse_scalar(std::string_view t) {
  if (t == "true") return Scalar(true);
  if (t == "false") return Scalar(false);
  if (t.empty()) return LineParser::error("expected a scalar");
  if (t.find_first_of(".eEni") != std::string_view::npos) {
    auto d = parse_double(t);
    if (!d.ok()) return d.status();
    return Scalar(*d);
  }
  int64_t v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  if (r.ec == std::errc::result_out_of_range)
    return LineParser::error(absl::StrCat("integer ", sv(t), " out of range"));
  if (r.ec != std::errc() || r.ptr != t.data() + t.size())
    return LineParser::error(absl::StrCat("bad scalar ", sv(t)));
  return Scalar(v);
}

absl::Status parse_value(LineParser& p, int64_t& v) {
  auto i = p.integer();
  if (!i.ok()) return i.status();
  v = *i;
  return absl::OkStatus();
}
absl::Status parse_value(LineParser& p, bool& v) {
  const std::string_view t = p.ident();
  if (t != "true" && t != "false")
    return LineParser::error(absl::StrCat("expected true or false, got '", sv(t), "'"));
  v = t == "true";
  return absl::OkStatus();
}
absl::Status parse_value(LineParser& p, DType& v) {
  const std::string_view t = p.ident();
  auto d = dtype_from_short_name(t);
  if (!d) return LineParser::error(absl::StrCat("unknown dtype '", sv(t), "'"));
  v = *d;
  return absl::OkStatus();
}
absl::Status parse_value(LineParser& p, Shape& v) {
  if (auto s = p.expect('[', "to open a list"); !s.ok()) return s;
  v.clear();
  if (p.consume(']')) return absl::OkStatus();
  do {
    auto i = p.integer();
    if (!i.ok()) return i.status();
    v.push_back(*i);
  } while (p.consume(','));
  return p.expect(']', "to close a list");
}
absl::Status parse_value(LineParser& p, Scalar& v) {
  auto s = parse_scalar(p.scalar_text());
  if (!s.ok()) return s.status();
  v = *s;
  return absl::OkStatus();
}

struct FieldParser {
  LineParser* p;
  absl::Status status;
  bool first = true;
  template <class T>
  void operator()(std::string_view key, T& value) {
    if (!status.ok()) return;
    if (!first && !p->consume(',')) {
      status = LineParser::error(
          absl::StrCat("expected ', ", sv(key), "=' in attributes, got ", p->describe_next()));
      return;
    }
    first = false;
    const std::string_view got = p->ident();
    if (got != key) {
      status = LineParser::error(
          absl::StrCat("expected attribute key '", sv(key), "', got '", sv(got), "'"));
      return;
    }
    if (status = p->expect('=', absl::StrCat("after ", sv(key))); !status.ok()) return;
    status = parse_value(*p, value);
  }
};

absl::StatusOr<Attrs> parse_attrs(LineParser& p, Op op) {
  Attrs attrs = default_attrs(op);
  if (std::holds_alternative<NoAttrs>(attrs)) {
    if (!p.consume('{')) return attrs;
    if (p.consume('}')) return attrs;
    return LineParser::error(
        absl::StrCat(sv(op_name(op)), " takes no attributes, got ", p.describe_next()));
  }
  if (auto s = p.expect('{', absl::StrCat("before ", sv(op_name(op)), " attributes")); !s.ok())
    return s;
  FieldParser fields{&p};
  std::visit([&](auto& a) { for_each_field(a, fields); }, attrs);
  if (!fields.status.ok()) return fields.status;
  if (p.peek(',')) return LineParser::error("unexpected extra attribute");
  if (auto s = p.expect('}', "after attributes"); !s.ok()) return s;
  return attrs;
}

absl::StatusOr<TensorType> parse_type(LineParser& p) {
  TensorType type;
  if (auto s = parse_value(p, type.dtype); !s.ok()) return s;
  if (auto s = parse_value(p, type.shape); !s.ok()) return s;
  return type;
}

// Operands of a node or of `return`: each must name an already defined value.
absl::Status parse_operand(LineParser& p, int32_t defined, absl::InlinedVector<ValueId, 3>& out) {
  auto id = p.value_id();
  if (!id.ok()) return id.status();
  if (*id >= defined)
    return LineParser::error(absl::StrCat("operand %", *id, " is not defined before its use"));
  out.push_back(*id);
  return absl::OkStatus();
}

absl::Status parse_node_line(LineParser& p, Graph& g) {
  auto id = p.value_id();
  if (!id.ok()) return id.status();
  if (*id != g.size())
    return LineParser::error(
        absl::StrCat("expected %", g.size(), " (ids are numbered in order), got %", *id));
  if (auto s = p.expect('=', "after the value id"); !s.ok()) return s;
  const std::string_view name = p.ident();
  auto op = op_from_name(name);
  if (!op) return LineParser::error(absl::StrCat("unknown op '", sv(name), "'"));
  Node node;
  node.op = *op;
  if (auto s = p.expect('(', "after the op name"); !s.ok()) return s;
  if (!p.consume(')')) {
    do {
      if (auto s = parse_operand(p, g.size(), node.inputs); !s.ok()) return s;
    } while (p.consume(','));
    if (auto s = p.expect(')', "after the operands"); !s.ok()) return s;
  }
  auto attrs = parse_attrs(p, *op);
  if (!attrs.ok()) return attrs.status();
  node.attrs = *std::move(attrs);
  if (auto s = p.expect(':', "before the type"); !s.ok()) return s;
  auto type = parse_type(p);
  if (!type.ok()) return type.status();
  node.type = *std::move(type);
  if (!p.at_end()) return LineParser::error(absl::StrCat("unexpected ", p.describe_next()));
  g.add_node(std::move(node));
  return absl::OkStatus();
}

absl::Status parse_return_line(LineParser& p, Graph& g) {
  absl::InlinedVector<ValueId, 3> outputs;
  if (!p.at_end()) {
    do {
      if (auto s = parse_operand(p, g.size(), outputs); !s.ok()) return s;
    } while (p.consume(','));
    if (!p.at_end()) return LineParser::error(absl::StrCat("unexpected ", p.describe_next()));
  }
  g.set_outputs({outputs.begin(), outputs.end()});
  return absl::OkStatus();
}

std::string_view strip_comment(std::string_view line) {
  const size_t hash = line.find('#');
  if (hash != std::string_view::npos) line = line.substr(0, hash);
  const size_t slashes = line.find("//");
  if (slashes != std::string_view::npos) line = line.substr(0, slashes);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

absl::Status at_line(size_t line, const absl::Status& s) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", s.message()));
}

}  // namespace

std::string to_string(const Graph& g) {
  std::string out;
  out.reserve(static_cast<size_t>(g.size()) * 40 + 16);
  for (ValueId id = 0; id < g.size(); ++id) append_node(&out, id, g.node(id));
  out.append("return");
  for (size_t i = 0; i < g.outputs().size(); ++i)
    absl::StrAppend(&out, i ? ", %" : " %", g.outputs()[i]);
  out.append("\n");
  return out;
}

std::ostream& operator<<(std::ostream& os, const Graph& g) { return os << to_string(g); }

absl::StatusOr<Graph> parse_graph(std::string_view text) {
  Graph g;
  bool returned = false;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    LineParser p(strip_comment(line));
    if (p.at_end()) continue;
    if (returned) return at_line(line_number, LineParser::error("text after 'return'"));
    absl::Status s;
    if (p.peek('%')) {
      s = parse_node_line(p, g);
    } else if (p.ident() == "return") {
      returned = true;
      s = parse_return_line(p, g);
    } else {
      s = LineParser::error("expected '%N = op(...)' or 'return'");
    }
    if (!s.ok()) return at_line(line_number, s);
  }
  if (!returned) return at_line(line_number + 1, LineParser::error("missing 'return' line"));
  return g;
}

}  // namespace kiln::ir
