// The PyTorch-generated expectations of make_op_cases.py (op_cases.inc), the inputs those
// expressions use, and a runner that checks a table of kiln lambdas against them.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frontend_test_util.h"

namespace kiln::testing {

struct OpCase {
  const char* name;
  const char* dtype;  // "error" when PyTorch refuses the expression
  std::vector<int64_t> shape;
  std::vector<double> values;
  const char* torch_error;
};

inline const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = {
#include "op_cases.inc"
  };
  return cases;
}

// ---- the inputs of make_op_cases.py (fresh tensors on every call) ----
inline Tensor in_x() {  // float32 [3, 4]
  return tensor({{1.5, -2.0, 3.25, 0.0}, {4.0, 4.0, -1.0, 2.5}, {-3.5, 0.5, 2.0, 4.0}});
}
inline Tensor in_xi() { return tensor({{3, -1, 4}, {1, -5, 9}, {2, 6, -5}}); }  // int64 [3, 3]
inline Tensor in_xb() { return tensor({{true, false, true}, {false, false, true}}); }
inline Tensor in_x3() { return arange(24.0).reshape({2, 3, 4}); }
inline Tensor in_pos() { return tensor({0.25, 1.0, 2.0, 9.0}); }
inline Tensor in_v3() { return tensor({1.0, 2.0, 3.0}); }
inline Tensor in_v4() { return tensor({1.0, -1.0, 2.0, 0.5}); }

// t.clone() after fn(clone): the in-place op's result on a copy of the input.
template <class Fn>
Tensor inplace(const Tensor& t, Fn&& fn) {
  Tensor c = t.clone();
  fn(c);
  return c;
}

using CaseTable = std::map<std::string, std::function<Tensor()>>;

// Checks every fixture row whose name starts with `prefix` against the lambda of that name,
// and that every lambda has a row.
void check_op_cases(const std::string& prefix, const CaseTable& table);

}  // namespace kiln::testing
