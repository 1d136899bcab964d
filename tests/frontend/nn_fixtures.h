// PyTorch's values for the nn and optim suites (nn_fixtures.inc, written by
// make_nn_fixtures.py), looked up by name, and comparisons against them.
#pragma once

#include <string>
#include <vector>

#include "frontend_test_util.h"

namespace kiln::testing {

struct NnFixture {
  const char* name;
  std::vector<int64_t> shape;
  std::vector<double> values;
};

inline const NnFixture& nn_fixture(const std::string& name) {
  static const std::vector<NnFixture> fixtures = {
#include "nn_fixtures.inc"
  };
  for (const NnFixture& f : fixtures)
    if (name == f.name) return f;
  ADD_FAILURE() << "no fixture named " << name;
  static const NnFixture none{"", {}, {}};
  return none;
}

// The tensor's shape and values equal the fixture's (exactly, or within atol + rtol * |want|).
inline ::testing::AssertionResult matches_fixture(const Tensor& t, const std::string& name,
                                                  double atol = 0.0, double rtol = 0.0) {
  const NnFixture& f = nn_fixture(name);
  if (shape_of(t) != f.shape)
    return ::testing::AssertionFailure()
           << name << ": shape " << shape_to_string(t.sizes()) << " differs from torch's";
  const std::vector<double> got = values(t);
  for (size_t i = 0; i < got.size(); ++i) {
    const double want = f.values[i];
    const bool ok = (std::isnan(want) && std::isnan(got[i])) ||
                    std::abs(got[i] - want) <= atol + rtol * std::abs(want);
    if (!ok)
      return ::testing::AssertionFailure() << name << "[" << i << "]: kiln " << got[i] << ", torch "
                                           << want << " (diff " << got[i] - want << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace kiln::testing
