// Helpers for the interpreter tests: building graphs, encoding values of any dtype into buffers
// and decoding results. The encoders are written here independently of the interpreter's own
// element code, so that the tests check it rather than repeat it.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kiln/backends/interp/interpreter.h"
#include "kiln/ir/graph.h"
#include "kiln/runtime/buffer.h"
#include "kiln/runtime/error.h"
#include "kiln/runtime/half.h"

namespace kiln::backends::interp::testing {

using ir::Graph;
using ir::Op;
using ir::TensorType;
using ir::ValueId;

// Graph::add that throws instead of returning a status (a test graph that does not type-check
// is a bug in the test).
inline ValueId add(Graph& g, Op op, std::vector<ValueId> inputs, ir::Attrs attrs = ir::NoAttrs{}) {
  auto id = g.add(op, inputs, std::move(attrs));
  if (!id.ok()) throw std::runtime_error(id.status().ToString());
  return *id;
}

inline std::vector<BufferPtr> run(const Graph& g, std::vector<BufferPtr> inputs = {}) {
  Interpreter interpreter;
  return interpreter.run(g, inputs);
}

// The message of the kiln::Error that `f` throws ("" when it throws nothing).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

template <class T>
BufferPtr buffer_of(const std::vector<T>& values) {
  BufferPtr buffer = runtime::Buffer::allocate(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(buffer->data(), values.data(), values.size() * sizeof(T));
  return buffer;
}

template <class T>
std::vector<T> values_of(const BufferPtr& buffer) {
  std::vector<T> values(buffer->nbytes() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), buffer->data(), values.size() * sizeof(T));
  return values;
}

// Wraps an integer to a dtype's width the way two's complement storage does.
inline int64_t wrap_to(DType dtype, int64_t v) {
  const int bits = static_cast<int>(itemsize(dtype)) * 8;
  if (dtype == boolean) return v != 0 ? 1 : 0;
  if (bits == 64) return v;
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  const uint64_t low = static_cast<uint64_t>(v) & mask;
  if (dtype == uint8) return static_cast<int64_t>(low);
  const uint64_t sign_bit = uint64_t{1} << (bits - 1);
  return (low & sign_bit) != 0 ? static_cast<int64_t>(low) - static_cast<int64_t>(mask) - 1
                               : static_cast<int64_t>(low);
}

// Buffer of `values` stored as `dtype` (floats rounded to the dtype, integers wrapped).
inline BufferPtr encode(DType dtype, const std::vector<double>& values) {
  const size_t size = itemsize(dtype);
  BufferPtr buffer = runtime::Buffer::allocate(values.size() * size);
  auto* out = static_cast<unsigned char*>(buffer->data());
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    unsigned char bytes[8] = {};
    if (dtype == float32) {
      const float f = static_cast<float>(v);
      std::memcpy(bytes, &f, 4);
    } else if (dtype == float64) {
      std::memcpy(bytes, &v, 8);
    } else if (dtype == float16) {
      const uint16_t h = Half::from_float(static_cast<float>(v));
      std::memcpy(bytes, &h, 2);
    } else if (dtype == bfloat16) {
      const uint16_t b = BFloat16::from_float(static_cast<float>(v));
      std::memcpy(bytes, &b, 2);
    } else {
      // Integers and bool: test values are integral and in range of int64.
      const int64_t wrapped = wrap_to(dtype, static_cast<int64_t>(v));
      std::memcpy(bytes, &wrapped, size);  // little endian: the low bytes
    }
    std::memcpy(out + i * size, bytes, size);
  }
  return buffer;
}

inline std::vector<double> decode(DType dtype, const BufferPtr& buffer) {
  const size_t size = itemsize(dtype);
  const auto* in = static_cast<const unsigned char*>(buffer->data());
  std::vector<double> values(buffer->nbytes() / size);
  for (size_t i = 0; i < values.size(); ++i) {
    const unsigned char* p = in + i * size;
    if (dtype == float32) {
      float f;
      std::memcpy(&f, p, 4);
      values[i] = f;
    } else if (dtype == float64) {
      std::memcpy(&values[i], p, 8);
    } else if (dtype == float16 || dtype == bfloat16) {
      uint16_t bits;
      std::memcpy(&bits, p, 2);
      values[i] = dtype == float16 ? Half::to_float(bits) : BFloat16::to_float(bits);
    } else if (dtype == uint8 || dtype == boolean) {
      values[i] = *p;
    } else {
      int64_t v = 0;
      std::memcpy(&v, p, size);
      values[i] = static_cast<double>(wrap_to(dtype, v));  // sign-extends the low bytes
    }
  }
  return values;
}

// The value `exact` takes once stored in `dtype` (what a correct kernel must produce).
inline double stored_as(DType dtype, double exact) {
  return decode(dtype, encode(dtype, {exact}))[0];
}

// Element-wise equality where NaN equals NaN; `tolerance` is relative.
inline void expect_values(const std::vector<double>& actual, const std::vector<double>& expected,
                          double tolerance = 0.0) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << "element " << i << " is " << actual[i];
    } else if (tolerance == 0.0 || std::isinf(expected[i])) {
      EXPECT_EQ(actual[i], expected[i]) << "element " << i;
    } else {
      EXPECT_NEAR(actual[i], expected[i], tolerance * std::max(1.0, std::fabs(expected[i])))
          << "element " << i;
    }
  }
}

// A graph computing op(inputs...) over inputs of the given types, run on encoded values.
inline std::vector<double> run_op(Op op, const std::vector<TensorType>& types,
                                  const std::vector<std::vector<double>>& values,
                                  ir::Attrs attrs = ir::NoAttrs{}) {
  Graph g;
  std::vector<ValueId> ids;
  std::vector<BufferPtr> buffers;
  for (size_t i = 0; i < types.size(); ++i) {
    ids.push_back(g.add_input(types[i]));
    buffers.push_back(encode(types[i].dtype, values[i]));
  }
  const ValueId out = add(g, op, ids, std::move(attrs));
  g.set_outputs({out});
  return decode(g.node(out).type.dtype, run(g, buffers)[0]);
}

inline TensorType type(DType dtype, const Shape& shape) { return TensorType{dtype, shape}; }

}  // namespace kiln::backends::interp::testing
