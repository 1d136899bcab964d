// save() and load(): the Tensor side of the io layer. The readers (reader.h) fill buffers that
// become the loaded tensors' storage directly; the writer streams each tensor's dense bytes
// into the file, one tensor at a time.
#include "kiln/frontend/io/serialize.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/io/atomic_file.h"
#include "kiln/frontend/io/byte_source.h"
#include "kiln/frontend/io/safetensors.h"
#include "kiln/frontend/io/serialize_internal.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/ir/absl_compat.h"

namespace kiln {
namespace io {
namespace {

// Wraps each buffer the reader fills into a realized tensor. The tensors are built only after
// the whole file was read, so a malformed file yields no partial StateDict.
class StateDictSink final : public TensorSink {
 public:
  uint8_t* allocate(const std::string& name, DType dtype, absl::Span<const int64_t> shape,
                    bool requires_grad) override {
    Shape s(shape.begin(), shape.end());
    auto buffer = runtime::Buffer::allocate(static_cast<size_t>(numel(s)) * itemsize(dtype));
    auto* data = static_cast<uint8_t*>(buffer->data());
    tensors_.push_back(
        Loaded{name, ir::TensorType{dtype, std::move(s)}, std::move(buffer), requires_grad});
    return data;
  }

  StateDict finish(Device map_location) {
    StateDict out;
    for (Loaded& l : tensors_) {
      const bool floating = is_floating_point(l.type.dtype);
      Tensor t = frontend::make_tensor(frontend::make_leaf(std::move(l.buffer), l.type, cpu));
      // A pickled nn.Parameter keeps requires_grad, as torch.load returns it.
      if (l.requires_grad && floating) t.requires_grad_();
      if (map_location != cpu) t = t.to(map_location);
      out.insert(l.name, std::move(t));
    }
    return out;
  }

 private:
  struct Loaded {
    std::string name;
    ir::TensorType type;
    std::shared_ptr<runtime::Buffer> buffer;
    bool requires_grad;
  };
  std::vector<Loaded> tensors_;
};

StateDict load_from(const ByteSource& source, Device map_location, const LoadLimits& limits) {
  StateDictSink sink;
  read_state_dict(source, sink, limits);
  return sink.finish(map_location);
}

[[noreturn]] void save_error(const std::string& path, std::string_view what) {
  throw Error(absl::StrCat("kiln::save: ", path, ": ", sv(what)));
}

}  // namespace

StateDict load_from_memory(absl::Span<const uint8_t> bytes, std::string_view name,
                           Device map_location, const LoadLimits& limits) {
  const MemorySource source(bytes, std::string(name));
  return load_from(source, map_location, limits);
}

StateDict load_safetensors(const ByteSource& source, Device map_location,
                           safetensors::Metadata* metadata) {
  StateDictSink sink;
  read_safetensors(source, sink, metadata);
  return sink.finish(map_location);
}

void save(const StateDict& state_dict, const std::string& path, const SaveOptions& options) {
  std::vector<safetensors::Entry> entries;
  std::vector<Tensor> tensors;
  for (const auto& [name, t] : state_dict) {
    if (!t.defined()) save_error(path, absl::StrCat("entry '", name, "' is an undefined tensor"));
    // detach: saving reads values only and must not record autograd history.
    Tensor value = t.detach();
    if (!value.device().is_cpu()) value = value.cpu();
    entries.push_back(safetensors::Entry{name, value.dtype(),
                                         std::vector<int64_t>(t.sizes().begin(), t.sizes().end())});
    tensors.push_back(std::move(value));
  }
  const std::string head = safetensors::plan_layout(entries, path, options.metadata);
  AtomicFile file(path, options.fail_after_bytes);
  file.write(head.data(), head.size());
  std::vector<size_t> order(entries.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return entries[a].begin < entries[b].begin; });
  for (size_t i : order) {
    const uint64_t nbytes = entries[i].end - entries[i].begin;
    if (nbytes == 0) continue;
    // One dense copy at a time (none for tensors already dense), released after its write.
    const Tensor dense = tensors[i].contiguous();
    file.write(frontend::realized_data(dense, frontend::HostAccess::kRead),
               static_cast<size_t>(nbytes));
  }
  file.commit();
}

}  // namespace io

void save(const StateDict& state_dict, const std::string& path) {
  io::save(state_dict, path, io::SaveOptions{});
}

StateDict load(const std::string& path, Device map_location) {
  const io::FileSource source(path);
  return io::load_from(source, map_location, {});
}

}  // namespace kiln
