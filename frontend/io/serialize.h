// Saving and loading state dicts (API.md, "Modules, optimizers, files").
#pragma once

#include <string>

#include "kiln/frontend/state_dict.h"
#include "kiln/runtime/device.h"

namespace kiln {

// Writes `state_dict` to `path` in the safetensors format (every dtype; views and
// non-contiguous tensors are written dense). The write is atomic: a temporary file next to
// `path` is synced and renamed over it, so on failure (kiln::Error) an existing file is left
// intact. Keys must be valid UTF-8 and not "__metadata__".
void save(const StateDict& state_dict, const std::string& path);

// Reads a state dict written by save(), by any safetensors writer, or by PyTorch's
// torch.save(state_dict) (the ZIP format of PyTorch >= 1.6). The format is told by content,
// not by the file name. Tensors come back dense, in the file's order (a safetensors header's
// order, the pickled dict's order), on `map_location`. Throws kiln::Error naming the file and
// the fault when it is missing, truncated or malformed.
StateDict load(const std::string& path, Device map_location = cpu);

}  // namespace kiln
