// The pickle subset that torch.save(state_dict) writes (protocol 2, and the protocol 4 opcodes
// pickle.HIGHEST_PROTOCOL would add): an interpreter for the opcodes alone that never imports
// or calls anything. GLOBAL may name only OrderedDict, the tensor and parameter rebuild
// functions and the typed storage classes; everything else is refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "kiln/frontend/io/byte_source.h"
#include "kiln/ir/dtype.h"

namespace kiln::io::pickle {

// A storage named by a persistent id ('storage', torch.FloatStorage, key, location, numel):
// its bytes are the archive entry data/<key>.
struct Storage {
  std::string key;
  DType dtype = float32;
  uint64_t numel = 0;
};

// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks): a view
// of a storage, in elements.
struct TensorView {
  std::string name;
  size_t storage = 0;  // index into PickledStateDict::storages
  int64_t offset = 0;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  bool requires_grad = false;
};

struct PickledStateDict {
  std::vector<Storage> storages;
  std::vector<TensorView> tensors;  // in the dict's order, names unique
};

// Runs `pickle` (the bytes of data.pkl) and returns the dict of tensors it builds. Errors
// (unknown opcodes or globals, truncation, stack underflow, memo misses, a result that is not
// a dict of tensors) throw kiln::Error through `source`, naming `entry` and the byte offset.
PickledStateDict unpickle_state_dict(absl::Span<const uint8_t> pickle, const ByteSource& source,
                                     std::string_view entry);

}  // namespace kiln::io::pickle
