#include "kiln/frontend/jit/kiln_format.h"

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "kiln/frontend/io/json.h"
#include "kiln/frontend/io/reader.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"

namespace kiln::jit::format {
namespace {

using io::json::Value;

constexpr std::string_view kFormatKey = "kiln.format";
constexpr std::string_view kIrKey = "kiln.ir";
constexpr std::string_view kArgumentsKey = "kiln.arguments";
constexpr std::string_view kInputsKey = "kiln.inputs";
constexpr std::string_view kOutputsKey = "kiln.outputs";
constexpr std::string_view kModuleKey = "kiln.module";

struct Kind {
  std::string_view prefix;
  InputBinding::Kind kind;
};
constexpr Kind kKinds[] = {{"argument", InputBinding::Kind::kArgument},
                           {"parameter", InputBinding::Kind::kParameter},
                           {"buffer", InputBinding::Kind::kBuffer},
                           {"constant", InputBinding::Kind::kConstant}};

// Errors while decoding one file.
class Decoder {
 public:
  Decoder(const io::safetensors::Metadata& metadata, std::string_view file)
      : metadata_(metadata), file_(file) {}

  [[noreturn]] void fail(std::string_view what) const {
    throw Error(absl::StrCat("jit::load: ", sv(file_), ": ", sv(what)));
  }

  const std::string* find(std::string_view key) const {
    for (const auto& [k, v] : metadata_)
      if (k == key) return &v;
    return nullptr;
  }
  const std::string& require(std::string_view key, std::string_view what) const {
    const std::string* value = find(key);
    if (value == nullptr)
      fail(absl::StrCat("the metadata has no \"", sv(key), "\" (", sv(what),
                        "): the file is damaged or was not written by jit::CompiledModule::save"));
    return *value;
  }
  // A metadata value that holds a JSON array.
  std::vector<Value> array(std::string_view key, std::string_view what) const {
    const std::string& text = require(key, what);
    Value value;
    try {
      value = io::json::parse(text);
    } catch (const io::json::ParseError& e) {
      fail(absl::StrCat("\"", sv(key), "\" is not valid JSON: ", e.message));
    }
    if (value.kind != Value::Kind::kArray)
      fail(absl::StrCat("\"", sv(key), "\" must be a JSON array, found ",
                        sv(io::json::kind_name(value.kind))));
    return std::move(value.array);
  }

 private:
  const io::safetensors::Metadata& metadata_;
  std::string_view file_;
};

// A non-negative decimal number without sign or leading zeros, below 2^31.
std::optional<int32_t> parse_index(std::string_view s) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  int32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

ir::TensorType parse_argument(const Decoder& d, const Value& v, size_t i) {
  const std::string where = absl::StrCat("\"kiln.arguments\" entry ", i);
  if (v.kind != Value::Kind::kObject)
    d.fail(absl::StrCat(where, " must be an object {\"dtype\": ..., \"shape\": [...]}, found ",
                        sv(io::json::kind_name(v.kind))));
  const Value* dtype = nullptr;
  const Value* shape = nullptr;
  for (const io::json::Member& m : v.object) {
    if (m.key == "dtype") dtype = &m.value;
    if (m.key == "shape") shape = &m.value;
  }
  if (dtype == nullptr || dtype->kind != Value::Kind::kString)
    d.fail(absl::StrCat(where, " needs \"dtype\": a string such as \"F32\""));
  const std::optional<DType> code = io::safetensors::dtype_from_code(dtype->string);
  if (!code) d.fail(absl::StrCat(where, ": unknown dtype \"", dtype->string, "\""));
  if (shape == nullptr || shape->kind != Value::Kind::kArray)
    d.fail(absl::StrCat(where, " needs \"shape\": an array of sizes"));
  ir::TensorType type{*code, {}};
  for (const Value& s : shape->array) {
    if (s.kind != Value::Kind::kNumber || !s.is_int || s.integer < 0)
      d.fail(absl::StrCat(where, ": \"shape\" must hold non-negative integers"));
    type.shape.push_back(s.integer);
  }
  if (!io::shape_fits(type.shape, type.dtype))
    d.fail(absl::StrCat(where, ": shape ", io::shape_string(type.shape), " is too large"));
  return type;
}

InputBinding parse_binding(const Decoder& d, const Value& v, size_t i) {
  if (v.kind != Value::Kind::kString)
    d.fail(absl::StrCat("\"kiln.inputs\" entry ", i, " must be a string such as \"argument:0\", ",
                        "found ", sv(io::json::kind_name(v.kind))));
  const std::string_view text = v.string;
  const size_t colon = text.find(':');
  const std::string_view prefix = text.substr(0, colon);
  for (const Kind& k : kKinds) {
    if (colon == std::string_view::npos || prefix != k.prefix) continue;
    InputBinding b;
    b.kind = k.kind;
    const std::string_view rest = text.substr(colon + 1);
    if (k.kind != InputBinding::Kind::kArgument) {
      if (rest.empty()) d.fail(absl::StrCat("input ", i, ": \"", sv(text), "\" names no tensor"));
      b.tensor = std::string(rest);
      return b;
    }
    const std::optional<int32_t> index = parse_index(rest);
    if (!index)
      d.fail(absl::StrCat("input ", i, ": \"", sv(text), "\": the argument must be a number"));
    b.argument = *index;
    return b;
  }
  d.fail(absl::StrCat("input ", i, ": unknown binding \"", sv(text),
                      "\" (expected argument:N, parameter:NAME, buffer:NAME or constant:NAME)"));
}

void append_type(std::string& out, const ir::TensorType& type) {
  absl::StrAppend(&out, "{\"dtype\":\"", sv(io::safetensors::dtype_code(type.dtype)),
                  "\",\"shape\":[");
  for (size_t d = 0; d < type.shape.size(); ++d) absl::StrAppend(&out, d ? "," : "", type.shape[d]);
  out += "]}";
}

}  // namespace

std::string to_string(const InputBinding& binding) {
  for (const Kind& k : kKinds) {
    if (k.kind != binding.kind) continue;
    return binding.kind == InputBinding::Kind::kArgument
               ? absl::StrCat(sv(k.prefix), ":", binding.argument)
               : absl::StrCat(sv(k.prefix), ":", binding.tensor);
  }
  return "?";  // unreachable: every kind is listed
}

std::string describe(const ir::TensorType& type) {
  return absl::StrCat(sv(name(type.dtype)), shape_to_string(type.shape));
}

std::vector<ir::TensorType> input_types(const ir::Graph& graph) {
  std::vector<ir::TensorType> types(static_cast<size_t>(graph.num_inputs()));
  for (const ir::Node& node : graph.nodes())
    if (node.op == ir::Op::input)
      types.at(static_cast<size_t>(std::get<ir::InputAttrs>(node.attrs).index)) = node.type;
  return types;
}

io::safetensors::Metadata encode(const Program& program) {
  std::string arguments = "[";
  for (size_t i = 0; i < program.arguments.size(); ++i) {
    if (i > 0) arguments += ',';
    append_type(arguments, program.arguments[i]);
  }
  arguments += ']';
  std::string inputs = "[";
  for (size_t i = 0; i < program.inputs.size(); ++i) {
    if (i > 0) inputs += ',';
    io::json::append_string(inputs, to_string(program.inputs[i]));
  }
  inputs += ']';
  std::string outputs = "[";
  for (size_t i = 0; i < program.outputs.size(); ++i)
    absl::StrAppend(&outputs, i ? "," : "", "\"result:", program.outputs[i], "\"");
  outputs += ']';
  io::safetensors::Metadata metadata = {{std::string(kFormatKey), std::string(kVersion)},
                                        {std::string(kIrKey), ir::to_string(program.graph)},
                                        {std::string(kArgumentsKey), arguments},
                                        {std::string(kInputsKey), inputs},
                                        {std::string(kOutputsKey), outputs}};
  if (!program.module.empty()) metadata.emplace_back(kModuleKey, program.module);
  return metadata;
}

Program decode(const io::safetensors::Metadata& metadata, absl::Span<const StoredTensor> tensors,
               std::string_view file) {
  const Decoder d(metadata, file);
  const std::string* version = d.find(kFormatKey);
  if (version == nullptr)
    d.fail(
        "the safetensors metadata has no \"kiln.format\": a file of weights, not a saved "
        "program (kiln::load reads weights; jit::CompiledModule::save writes programs)");
  if (*version != kVersion)
    d.fail(absl::StrCat("\"kiln.format\" is \"", *version, "\", but this kiln reads format ",
                        sv(kVersion), " (was the file written by a newer kiln?)"));

  Program program;
  absl::StatusOr<ir::Graph> graph = ir::parse_graph(d.require(kIrKey, "the program's IR"));
  if (!graph.ok()) d.fail(absl::StrCat("\"kiln.ir\" does not parse: ", graph.status().message()));
  if (absl::Status s = ir::verify(*graph); !s.ok())
    d.fail(absl::StrCat("\"kiln.ir\" is not a valid graph: ", s.message()));
  program.graph = *std::move(graph);
  if (const std::string* module = d.find(kModuleKey)) program.module = *module;

  const std::vector<Value> arguments = d.array(kArgumentsKey, "the types of the call's arguments");
  for (size_t i = 0; i < arguments.size(); ++i)
    program.arguments.push_back(parse_argument(d, arguments[i], i));

  absl::flat_hash_map<std::string_view, const StoredTensor*> stored;
  for (const StoredTensor& t : tensors) stored.emplace(t.name, &t);
  const std::vector<ir::TensorType> types = input_types(program.graph);
  const std::vector<Value> inputs = d.array(kInputsKey, "what each graph input is bound to");
  if (inputs.size() != types.size())
    d.fail(absl::StrCat("\"kiln.inputs\" binds ", inputs.size(), " inputs, but the graph has ",
                        types.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    InputBinding b = parse_binding(d, inputs[i], i);
    const std::string bound = to_string(b);
    if (b.kind == InputBinding::Kind::kArgument) {
      if (static_cast<size_t>(b.argument) >= program.arguments.size())
        d.fail(absl::StrCat("input ", i, " is bound to ", bound, ", but a call passes ",
                            program.arguments.size(), " argument(s)"));
      const ir::TensorType& given = program.arguments[static_cast<size_t>(b.argument)];
      if (given != types[i])
        d.fail(absl::StrCat("input ", i, " (", bound, ") is ", describe(types[i]),
                            " in the graph, but \"kiln.arguments\" says ", describe(given)));
    } else {
      auto it = stored.find(b.tensor);
      if (it == stored.end())
        d.fail(absl::StrCat("input ", i, " is bound to ", bound, ", but the file holds no tensor '",
                            b.tensor, "'"));
      if (it->second->type != types[i])
        d.fail(absl::StrCat("input ", i, " (", bound, ") is ", describe(types[i]),
                            " in the graph, but tensor '", b.tensor, "' is ",
                            describe(it->second->type)));
    }
    program.inputs.push_back(std::move(b));
  }

  const std::vector<Value> outputs = d.array(kOutputsKey, "what each graph output is");
  const size_t num_outputs = program.graph.outputs().size();
  if (outputs.size() != num_outputs)
    d.fail(absl::StrCat("\"kiln.outputs\" describes ", outputs.size(),
                        " outputs, but the graph has ", num_outputs));
  std::vector<bool> seen(num_outputs, false);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Value& v = outputs[i];
    constexpr std::string_view kResult = "result:";
    std::optional<int32_t> index;
    if (v.kind == Value::Kind::kString && v.string.starts_with(kResult))
      index = parse_index(std::string_view(v.string).substr(kResult.size()));
    if (!index)
      d.fail(absl::StrCat("output ", i, " must be \"result:N\" (format ", sv(kVersion),
                          " saves results only)"));
    if (static_cast<size_t>(*index) >= num_outputs || seen[static_cast<size_t>(*index)])
      d.fail(absl::StrCat("output ", i, " is ", v.string, ": results must be numbered 0 to ",
                          num_outputs - 1, ", each once"));
    seen[static_cast<size_t>(*index)] = true;
    program.outputs.push_back(*index);
  }
  return program;
}

}  // namespace kiln::jit::format
