// The loaders below the Tensor layer: they read a safetensors file or a PyTorch archive from a
// ByteSource and hand each tensor's elements, contiguous and little-endian, to a TensorSink.
// Nothing here creates kiln Tensors, so the fuzzer builds these files alone; serialize.cpp
// supplies the sink that wraps the buffers into Tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "kiln/frontend/io/byte_source.h"
#include "kiln/frontend/io/safetensors.h"
#include "kiln/ir/dtype.h"

namespace kiln::io {

class TensorSink {
 public:
  virtual ~TensorSink() = default;
  // Memory for the elements of `name` (numel(shape) * itemsize(dtype) bytes, valid until the
  // load ends), which the reader then fills. Called once per tensor, in the file's order.
  virtual uint8_t* allocate(const std::string& name, DType dtype, absl::Span<const int64_t> shape,
                            bool requires_grad) = 0;
};

struct LoadLimits {
  // The most bytes that all loaded tensors together may take. A PyTorch tensor is a view, and
  // load() copies views into dense tensors, so a few bytes of storage can describe a huge
  // expanded tensor (stride 0); the limit stops such a file from exhausting memory. 0: the
  // default, 16 times the file size plus 1 GiB, far above what tied or sliced weights need.
  uint64_t max_output_bytes = 0;
};

// Tells the format apart by content (a ZIP archive is a PyTorch file, anything else is read
// as safetensors) and reads every tensor into `sink`. Throws kiln::Error naming the input and
// the fault on any malformed input; never reads outside it.
void read_state_dict(const ByteSource& source, TensorSink& sink, const LoadLimits& limits = {});

// The formats, for callers that know which one they hold. `metadata`, when given, receives
// the safetensors header's "__metadata__" entries.
void read_safetensors(const ByteSource& source, TensorSink& sink,
                      safetensors::Metadata* metadata = nullptr);
void read_torch_archive(const ByteSource& source, TensorSink& sink, const LoadLimits& limits);

// Loaded bool elements are stored as 0 or 1: any other byte would be an invalid C++ bool
// inside kiln's kernels. Nonzero bytes mean true, as in NumPy.
void normalize_bools(uint8_t* data, uint64_t n);

// False when the sizes (zeros counted as ones) times the element size exceed int64: kiln
// computes strides and byte sizes in int64, even for a tensor with no elements.
bool shape_fits(absl::Span<const int64_t> shape, DType dtype);
// "[2, 3]"
std::string shape_string(absl::Span<const int64_t> shape);

}  // namespace kiln::io
