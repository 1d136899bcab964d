// Helpers shared by the frontend suites: values as doubles, error capture.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <kiln/kiln.h>

namespace kiln::testing {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// Elements in row-major order, as doubles.
inline std::vector<double> values(const Tensor& t) { return t.tolist<double>(); }

// randn drawn from the CPU generator, as the PyTorch fixtures were drawn, then moved to the
// default device: fixture tests then check the same values on every device (KILN_TEST_DEVICE).
inline Tensor fixture_randn(const Shape& shape) {
  return randn(shape, {.device = cpu}).to(get_default_device());
}

inline std::vector<int64_t> shape_of(const Tensor& t) {
  return std::vector<int64_t>(t.sizes().begin(), t.sizes().end());
}

// The message of the kiln::Error that fn throws; fails the test when it throws nothing.
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-kiln exception: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a kiln::Error, nothing was thrown";
  return "<no error>";
}

// Exact comparison that treats NaN as equal to NaN.
inline bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Relative comparison for transcendental results (PyTorch's float32 kernels round differently).
inline bool close_values(const std::vector<double>& a, const std::vector<double>& b,
                         double rtol = 1e-5, double atol = 1e-6) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::isinf(a[i]) || std::isinf(b[i])) {
      if (a[i] != b[i]) return false;
      continue;
    }
    if (std::abs(a[i] - b[i]) > atol + rtol * std::abs(b[i])) return false;
  }
  return true;
}

}  // namespace kiln::testing

// The call throws a kiln::Error whose message contains `substring`.
#define EXPECT_KILN_ERROR(statement, substring)                      \
  EXPECT_THAT(::kiln::testing::error_of([&] { (void)(statement); }), \
              ::testing::HasSubstr(substring))
