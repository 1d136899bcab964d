// A line-by-line port of torch/_tensor_str.py (PyTorch 1.13) for dense, strided tensors with the
// default print options. The Python names are kept in comments so the two can be read side by side.
#include "kiln/frontend/format.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/runtime/error.h"

namespace kiln {
namespace {

// PRINT_OPTS defaults; kiln does not expose set_printoptions.
constexpr int kPrecision = 4;
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
constexpr int kLineWidth = 80;
constexpr std::string_view kPrefix = "tensor(";

// Python's '{:.4f}'.format(x). printf agrees with Python for finite values (both round the exact
// binary value), but prints a negative NaN as "-nan" where Python always prints "nan".
std::string python_fixed(double value, int precision) {
  if (std::isnan(value)) return "nan";
  return absl::StrFormat("%.*f", precision, value);
}

// Python's '{:.4e}'.format(x): same exponent layout as printf (sign, at least two digits).
std::string python_scientific(double value, int precision) {
  if (std::isnan(value)) return "nan";
  return absl::StrFormat("%.*e", precision, value);
}

std::string left_pad(std::string text, size_t width) {
  if (text.size() >= width) return text;
  return std::string(width - text.size(), ' ') + text;
}

// The float32 nearest to `value`, as torch.tensor(value, dtype=torch.float32) holds it. A plain
// cast is undefined for finite doubles beyond the float range; IEEE rounding takes those to
// infinity from FLT_MAX plus half an ulp on.
double round_to_float32(double value) {
  constexpr double kFirstOverflowing = 0x1.ffffffp127;
  if (std::isnan(value)) return value;
  if (std::abs(value) >= kFirstOverflowing) {
    return std::copysign(std::numeric_limits<double>::infinity(), value);
  }
  return static_cast<double>(static_cast<float>(value));
}

// A tensor's elements seen through the flat row-major index; hides whether they live in
// `floats` or `ints`.
class Elements {
 public:
  explicit Elements(const TensorPrintInput& t)
      : dtype_(t.dtype), floating_(is_floating_point(t.dtype)), floats_(t.floats), ints_(t.ints) {
    if (floating_ && dtype_ != float64) {
      // PyTorch formats float16/bfloat16 through their float32 values (`self.float()`), and a
      // float32 tensor holds float32 values: round anything the caller passed with more precision.
      for (double& v : floats_) v = round_to_float32(v);
    }
  }

  bool floating() const { return floating_; }
  bool is_bool() const { return dtype_ == boolean; }
  double float_at(int64_t i) const { return floats_[static_cast<size_t>(i)]; }
  int64_t int_at(int64_t i) const { return ints_[static_cast<size_t>(i)]; }

 private:
  DType dtype_;
  bool floating_;
  std::vector<double> floats_;
  const std::vector<int64_t>& ints_;
};

// _Formatter: picks one layout (int / fixed / scientific) and one width for every element it
// will print, from the elements it is shown (all of them, or only the summarized edges).
class Formatter {
 public:
  Formatter(const Elements& elements, const std::vector<int64_t>& visible) : elements_(elements) {
    if (!elements.floating()) {
      for (int64_t i : visible) max_width_ = std::max(max_width_, format_integral(i).size());
      return;
    }

    std::vector<double> nonzero_finite;
    for (int64_t i : visible) {
      const double v = elements.float_at(i);
      if (std::isfinite(v) && v != 0) nonzero_finite.push_back(v);
    }
    // No valid number: int mode with width 1, so zeros print `0.` and nan/inf stick out.
    if (nonzero_finite.empty()) return;

    double min_abs = std::abs(nonzero_finite.front());
    double max_abs = min_abs;
    for (double v : nonzero_finite) {
      min_abs = std::min(min_abs, std::abs(v));
      max_abs = std::max(max_abs, std::abs(v));
    }
    int_mode_ = std::all_of(nonzero_finite.begin(), nonzero_finite.end(),
                            [](double v) { return v == std::ceil(v); });

    const bool wide_range = max_abs / min_abs > 1000.0 || max_abs > 1.0e8;
    sci_mode_ = int_mode_ ? wide_range : wide_range || min_abs < 1.0e-4;
    for (double v : nonzero_finite) {
      size_t len;
      if (sci_mode_) {
        len = python_scientific(v, kPrecision).size();
      } else if (int_mode_) {
        // The `+ 1` is the dot appended to whole numbers (`1.`).
        len = python_fixed(v, 0).size() + 1;
      } else {
        len = python_fixed(v, kPrecision).size();
      }
      max_width_ = std::max(max_width_, len);
    }
  }

  size_t width() const { return max_width_; }

  // Formatter.format: the element's text, right-aligned to width().
  std::string format(int64_t index) const {
    if (!elements_.floating()) return left_pad(format_integral(index), max_width_);
    const double v = elements_.float_at(index);
    std::string text;
    if (sci_mode_) {
      text = python_scientific(v, kPrecision);
    } else if (int_mode_) {
      text = python_fixed(v, 0);
      if (std::isfinite(v)) text += '.';
    } else {
      text = python_fixed(v, kPrecision);
    }
    return left_pad(std::move(text), max_width_);
  }

 private:
  // Python's '{}'.format for ints and bools.
  std::string format_integral(int64_t index) const {
    const int64_t v = elements_.int_at(index);
    if (elements_.is_bool()) return v != 0 ? "True" : "False";
    return absl::StrCat(v);
  }

  const Elements& elements_;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  size_t max_width_ = 1;
};

// Walks the dims of one tensor; `summarize` shows only kEdgeItems at each end of any dim longer
// than 2 * kEdgeItems.
class TensorPrinter {
 public:
  TensorPrinter(const TensorPrintInput& t, const Elements& elements, bool summarize)
      : sizes_(t.sizes),
        strides_(contiguous_strides(t.sizes)),
        elements_(elements),
        summarize_(summarize),
        formatter_(elements, visible_indices()) {}

  // _tensor_str_with_formatter for the whole tensor.
  std::string str(int indent) const { return str_at(0, 0, indent); }

 private:
  bool shortened(size_t dim) const { return summarize_ && sizes_[dim] > 2 * kEdgeItems; }

  // The positions along `dim` that get printed; -1 marks the '...' between the edges.
  std::vector<int64_t> positions(size_t dim) const {
    std::vector<int64_t> result;
    if (!shortened(dim)) {
      for (int64_t i = 0; i < sizes_[dim]; ++i) result.push_back(i);
      return result;
    }
    for (int64_t i = 0; i < kEdgeItems; ++i) result.push_back(i);
    result.push_back(-1);
    for (int64_t i = sizes_[dim] - kEdgeItems; i < sizes_[dim]; ++i) result.push_back(i);
    return result;
  }

  // get_summarized_data, as flat indices: the elements the formatter measures. These are exactly
  // the elements that get printed.
  std::vector<int64_t> visible_indices() const {
    std::vector<int64_t> indices;
    collect_visible(0, 0, indices);
    return indices;
  }

  void collect_visible(int64_t offset, size_t dim, std::vector<int64_t>& indices) const {
    if (dim == sizes_.size()) {
      indices.push_back(offset);
      return;
    }
    for (int64_t i : positions(dim)) {
      if (i >= 0) collect_visible(offset + i * strides_[dim], dim + 1, indices);
    }
  }

  std::string str_at(int64_t offset, size_t dim, int indent) const {
    if (sizes_.empty()) return formatter_.format(offset);  // _scalar_str
    if (dim + 1 == sizes_.size()) return vector_str(offset, dim, indent);

    std::vector<std::string> slices;
    for (int64_t i : positions(dim)) {
      slices.push_back(i < 0 ? "..." : str_at(offset + i * strides_[dim], dim + 1, indent + 1));
    }
    // Sub-tensors of 3-D and up are separated by blank lines: one newline per remaining dim.
    const size_t dims_left = sizes_.size() - dim;
    const std::string separator =
        absl::StrCat(",", std::string(dims_left - 1, '\n'), std::string(indent + 1, ' '));
    return absl::StrCat("[", absl::StrJoin(slices, separator), "]");
  }

  // _vector_str: the last dim, wrapped to a fixed number of elements per line.
  std::string vector_str(int64_t offset, size_t dim, int indent) const {
    const int element_length = static_cast<int>(formatter_.width()) + 2;
    const int elements_per_line = std::max(1, (kLineWidth - indent) / element_length);

    std::vector<std::string> data;
    for (int64_t i : positions(dim)) {
      data.push_back(i < 0 ? " ..." : formatter_.format(offset + i * strides_[dim]));
    }

    std::vector<std::string> lines;
    for (size_t start = 0; start < data.size(); start += elements_per_line) {
      const size_t end = std::min(data.size(), start + elements_per_line);
      lines.push_back(absl::StrJoin(data.begin() + start, data.begin() + end, ", "));
    }
    const std::string separator = absl::StrCat(",\n", std::string(indent + 1, ' '));
    return absl::StrCat("[", absl::StrJoin(lines, separator), "]");
  }

  const Shape& sizes_;
  Shape strides_;
  const Elements& elements_;
  bool summarize_;
  Formatter formatter_;
};

// str(tuple(shape)): "(0, 3)", "(0,)".
std::string python_tuple(const Shape& sizes) {
  if (sizes.size() == 1) return absl::StrCat("(", sizes[0], ",)");
  return absl::StrCat("(", absl::StrJoin(sizes, ", "), ")");
}

// One `, name=value` after the contents. `measured_length` is the length PyTorch measures when
// deciding where the suffix goes, which differs from the text for dtypes (see below).
struct Suffix {
  std::string text;
  int64_t measured_length;
};

Suffix plain_suffix(std::string text) {
  const auto length = static_cast<int64_t>(text.size());
  return {std::move(text), length};
}

// kiln prints `dtype=float64` where PyTorch prints `dtype=torch.float64`, but it places the suffix
// as PyTorch does (it measures the `torch.` too), so the output is PyTorch's output with `torch.`
// deleted, line breaks included.
Suffix dtype_suffix(DType dtype) {
  constexpr std::string_view kTorchModulePrefix = "torch.";
  Suffix suffix = plain_suffix(absl::StrCat("dtype=", sv(name(dtype))));
  suffix.measured_length += static_cast<int64_t>(kTorchModulePrefix.size());
  return suffix;
}

// _add_suffixes: each suffix follows on the same line unless that line would pass the line width.
std::string add_suffixes(std::string text, const std::vector<Suffix>& suffixes, int indent) {
  // PyTorch's measure of the last line overcounts it by two; keep it, the output depends on it.
  const size_t last_newline = text.rfind('\n');
  const int64_t last_newline_pos =
      last_newline == std::string::npos ? -1 : static_cast<int64_t>(last_newline);
  int64_t last_line_len = static_cast<int64_t>(text.size()) - last_newline_pos + 1;
  for (const Suffix& suffix : suffixes) {
    if (last_line_len + suffix.measured_length + 2 > kLineWidth) {
      absl::StrAppend(&text, ",\n", std::string(indent, ' '), suffix.text);
      last_line_len = indent + suffix.measured_length;
    } else {
      absl::StrAppend(&text, ", ", suffix.text);
      last_line_len += suffix.measured_length + 2;
    }
  }
  text += ')';
  return text;
}

void check_input(const TensorPrintInput& t) {
  for (int64_t size : t.sizes) {
    if (size < 0)
      throw Error(absl::StrCat("format_tensor: negative size in ", shape_to_string(t.sizes)));
  }
  const size_t expected = static_cast<size_t>(numel(t.sizes));
  const bool floating = is_floating_point(t.dtype);
  const size_t given = floating ? t.floats.size() : t.ints.size();
  if (given != expected) {
    throw Error(absl::StrFormat("format_tensor: a %s tensor of shape %s needs %d %s values, got %d",
                                sv(name(t.dtype)), shape_to_string(t.sizes), expected,
                                floating ? "floating" : "integer", given));
  }
}

}  // namespace

// _str_intern for a plain, strided, non-sparse tensor.
std::string format_tensor(const TensorPrintInput& t) {
  check_input(t);
  const int indent = static_cast<int>(kPrefix.size());
  const int64_t count = numel(t.sizes);

  std::vector<Suffix> suffixes;
  // Only cpu is the default device, so any cuda device is shown, cuda:0 included.
  if (t.device != cpu)
    suffixes.push_back(plain_suffix(absl::StrCat("device='", t.device.str(), "'")));

  std::string contents;
  if (count == 0) {
    contents = "[]";
    if (t.sizes.size() != 1) suffixes.push_back(plain_suffix("size=" + python_tuple(t.sizes)));
    // With no elements to infer it from, every dtype but the default float32 is shown, int64
    // and bool included.
    if (t.dtype != float32) suffixes.push_back(dtype_suffix(t.dtype));
  } else {
    if (t.dtype != float32 && t.dtype != int64 && t.dtype != boolean) {
      suffixes.push_back(dtype_suffix(t.dtype));
    }
    const Elements elements(t);
    const TensorPrinter printer(t, elements, /*summarize=*/count > kThreshold);
    contents = printer.str(indent);
  }
  if (t.requires_grad) suffixes.push_back(plain_suffix("requires_grad=True"));

  return add_suffixes(absl::StrCat(sv(kPrefix), contents), suffixes, indent);
}

}  // namespace kiln
