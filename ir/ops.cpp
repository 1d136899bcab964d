#include "kiln/ir/ops.h"

#include <array>

namespace kiln::ir {
namespace {

struct OpInfo {
  std::string_view name;
  int arity;
  uint32_t traits;
  size_t attrs_index;
};

template <class T>
constexpr size_t attrs_index() {
  return Attrs(T{}).index();
}

const std::array<OpInfo, kNumOps>& table() {
  static const std::array<OpInfo, kNumOps> t = {{
#define KILN_IR_OP_INFO(name, arity, traits, attrs) \
  {#name, arity, static_cast<uint32_t>(traits), attrs_index<attrs>()},
      KILN_IR_OPS(KILN_IR_OP_INFO)
#undef KILN_IR_OP_INFO
  }};
  return t;
}

}  // namespace

std::string_view op_name(Op op) { return table()[static_cast<int>(op)].name; }

std::optional<Op> op_from_name(std::string_view name) {
  const auto& t = table();
  for (int i = 0; i < kNumOps; ++i)
    if (t[i].name == name) return static_cast<Op>(i);
  return std::nullopt;
}

int op_arity(Op op) { return table()[static_cast<int>(op)].arity; }
uint32_t op_traits(Op op) { return table()[static_cast<int>(op)].traits; }

Attrs default_attrs(Op op) {
  switch (op) {
#define KILN_IR_OP_DEFAULT(name, arity, traits, attrs) \
  case Op::name:                                       \
    return attrs{};
    KILN_IR_OPS(KILN_IR_OP_DEFAULT)
#undef KILN_IR_OP_DEFAULT
  }
  return NoAttrs{};
}

bool attrs_match(Op op, const Attrs& attrs) {
  return table()[static_cast<int>(op)].attrs_index == attrs.index();
}

}  // namespace kiln::ir
