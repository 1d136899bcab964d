// libFuzzer target for kiln's loaders (safetensors, PyTorch ZIP archives with their pickles,
// and .kiln programs: safetensors whose metadata jit::load decodes and checks, IR text
// included): any input must load or throw kiln::Error, without a sanitizer report. It drives
// io::read_state_dict, the byte-level half of kiln::load / io::load_from_memory, with a sink
// that keeps the tensor bytes in plain vectors, so that this target builds from the io
// sources, the IR and the .kiln decoder alone (tests/fuzz/CMakeLists.txt) rather than the
// whole JIT-backed library; the Tensor half is exercised by the deterministic mutation test in
// the normal suite (tests/frontend/io_mutation_test.cpp). Run with tools/run-fuzzers.sh. The
// seed corpus/traced_mlp.kiln is a copy of tests/data/traced_mlp.kiln (a saved jit program).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kiln/frontend/io/reader.h"
#include "kiln/frontend/jit/kiln_format.h"
#include "kiln/runtime/error.h"

namespace {

class VectorSink final : public kiln::io::TensorSink {
 public:
  uint8_t* allocate(const std::string& name, kiln::DType dtype, absl::Span<const int64_t> shape,
                    bool) override {
    size_t n = kiln::itemsize(dtype);
    for (int64_t s : shape) n *= static_cast<size_t>(s);
    buffers_.emplace_back(n);
    stored_.push_back({name, {dtype, kiln::Shape(shape.begin(), shape.end())}});
    return buffers_.back().data();
  }
  const std::vector<kiln::jit::format::StoredTensor>& stored() const { return stored_; }

 private:
  std::vector<std::vector<uint8_t>> buffers_;
  std::vector<kiln::jit::format::StoredTensor> stored_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const kiln::io::MemorySource source(absl::MakeConstSpan(data, size), "fuzz-input");
  VectorSink sink;
  try {
    // A lower output limit than load()'s default keeps each run well under libFuzzer's
    // memory limit; views that expand storage are the only way past the input size.
    kiln::io::read_state_dict(source, sink, {.max_output_bytes = 64 << 20});
  } catch (const kiln::Error&) {
    // Refusing malformed input is the expected outcome.
  }
  // The same bytes as a saved program: what jit::load checks before anything runs.
  try {
    VectorSink program_sink;
    kiln::io::safetensors::Metadata metadata;
    kiln::io::read_safetensors(source, program_sink, &metadata);
    kiln::jit::format::decode(metadata, program_sink.stored(), source.name());
  } catch (const kiln::Error&) {
  }
  return 0;
}
