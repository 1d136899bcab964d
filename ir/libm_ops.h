// Ops whose value comes from a libm function (exp, log, sin, tanh, erf, pow, ...). Compiled
// backends may call vector variants of these (libmvec) that differ from the interpreter's
// scalar call by a few ulp, and they cost several times a plain arithmetic op. One list for
// fusion's cost model and the differential tests' notion of "exact".
#pragma once

#include "kiln/ir/ops.h"

namespace kiln::ir {

constexpr bool is_libm_op(Op op) {
  switch (op) {
    case Op::exp:
    case Op::expm1:
    case Op::log:
    case Op::log2:
    case Op::log10:
    case Op::log1p:
    case Op::sin:
    case Op::cos:
    case Op::tan:
    case Op::tanh:
    case Op::sigmoid:
    case Op::erf:
    case Op::pow:
      return true;
    default:
      return false;
  }
}

}  // namespace kiln::ir
