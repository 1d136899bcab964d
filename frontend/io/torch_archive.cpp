// torch.save(state_dict) files: a ZIP archive holding <name>/data.pkl (the pickled dict, whose
// tensors name their storages by key) and <name>/data/<key> (each storage's raw bytes). Each
// tensor is a view (offset, sizes, strides) of a storage; kiln copies it into a fresh dense
// tensor, reading only the bytes the view covers.
#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/io/pickle.h"
#include "kiln/frontend/io/reader.h"
#include "kiln/frontend/io/zip.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::io {
namespace {

// Copies the elements of a strided view (every size >= 1) to `dst` in row-major order.
// copy(element, out, n) copies the n bytes at `element` (an offset in elements from the view's
// first element) to out.
template <class Copy>
void gather(uint8_t* dst, size_t item, const std::vector<int64_t>& sizes,
            const std::vector<int64_t>& strides, Copy&& copy) {
  const size_t nd = sizes.size();
  const int64_t inner = sizes[nd - 1], inner_stride = strides[nd - 1];
  std::vector<int64_t> index(nd, 0);
  int64_t base = 0;  // element offset of the current row
  while (true) {
    if (inner_stride == 1) {
      copy(base, dst, static_cast<size_t>(inner) * item);
      dst += static_cast<size_t>(inner) * item;
    } else {
      for (int64_t j = 0; j < inner; ++j, dst += item) copy(base + j * inner_stride, dst, item);
    }
    size_t d = nd - 1;
    while (d-- > 0) {
      if (++index[d] < sizes[d]) {
        base += strides[d];
        break;
      }
      base -= (sizes[d] - 1) * strides[d];
      index[d] = 0;
    }
    if (d == static_cast<size_t>(-1)) return;
  }
}

bool is_dense(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
  int64_t expected = 1;
  for (size_t d = sizes.size(); d-- > 0;) {
    if (sizes[d] == 1) continue;
    if (strides[d] != expected) return false;
    expected *= sizes[d];
  }
  return true;
}

[[noreturn]] void tensor_error(const ByteSource& source, const std::string& name,
                               std::string_view what) {
  source.fail(absl::StrCat("tensor '", name, "': ", sv(what)));
}

}  // namespace

void read_torch_archive(const ByteSource& source, TensorSink& sink, const LoadLimits& limits) {
  const zip::Archive archive(source);
  if (archive.entries().empty()) source.fail("zip archive is empty (not a torch.save file)");
  // torch.save puts every entry under one folder named after the file; PyTorch's reader takes
  // the folder from the first entry, and so does kiln.
  const std::string& first = archive.entries()[0].name;
  const size_t slash = first.find('/');
  if (slash == std::string::npos)
    source.fail(absl::StrCat("zip archive is not a torch.save file: its first entry '", first,
                             "' is not in a folder"));
  const std::string prefix = first.substr(0, slash + 1);
  const std::string pickle_name = prefix + "data.pkl";
  if (!archive.find(pickle_name))
    source.fail(absl::StrCat("zip archive is not a torch.save file: no entry '", pickle_name, "'"));
  if (archive.find(prefix + "byteorder")) {
    const std::vector<uint8_t> order = archive.read(prefix + "byteorder", "byte order");
    if (std::string_view(reinterpret_cast<const char*>(order.data()), order.size()) != "little")
      source.fail("the archive's byteorder is not \"little\"; kiln reads little-endian data only");
  }
  const std::vector<uint8_t> code = archive.read(pickle_name, "pickled state dict");
  const pickle::PickledStateDict dict = pickle::unpickle_state_dict(code, source, pickle_name);

  const uint64_t budget = limits.max_output_bytes != 0 ? limits.max_output_bytes
                          : source.size() > (uint64_t{1} << 58)
                              ? std::numeric_limits<uint64_t>::max()
                              : source.size() * 16 + (uint64_t{1} << 30);
  uint64_t used = 0;
  for (const pickle::TensorView& t : dict.tensors) {
    const pickle::Storage& s = dict.storages[t.storage];
    const auto bad = [&](std::string_view what) { tensor_error(source, t.name, what); };
    const zip::Entry* entry = archive.find(prefix + "data/" + s.key);
    if (!entry)
      tensor_error(source, t.name,
                   absl::StrCat("its storage '", s.key, "' is missing from the archive (no entry '",
                                prefix, "data/", s.key, "')"));
    const uint64_t item = itemsize(s.dtype);
    if (s.numel > entry->size / item || s.numel * item != entry->size)
      bad(absl::StrCat("its storage '", s.key, "' should hold ", s.numel, " elements of ", item,
                       " bytes, but the archive entry has ", entry->size, " bytes"));
    if (!shape_fits(t.sizes, s.dtype))
      bad(absl::StrCat("shape ", shape_string(t.sizes), " is too large (its size overflows)"));
    // Elements, checked against the output budget as they are multiplied (no overflow), and
    // the last element the view reaches, which must lie inside the storage.
    const bool empty = std::find(t.sizes.begin(), t.sizes.end(), 0) != t.sizes.end();
    unsigned __int128 numel = empty ? 0 : 1;
    unsigned __int128 last = static_cast<uint64_t>(t.offset);
    for (size_t d = 0; d < t.sizes.size() && !empty; ++d) {
      numel *= static_cast<uint64_t>(t.sizes[d]);
      if (numel * item > budget - used)
        bad(absl::StrCat("shape ", shape_string(t.sizes), " needs more memory than the ", budget,
                         "-byte limit for loading this file (kiln copies views into "
                         "dense tensors)"));
      last += static_cast<unsigned __int128>(t.sizes[d] - 1) * static_cast<uint64_t>(t.strides[d]);
      if (last > s.numel) last = static_cast<unsigned __int128>(s.numel) + 1;
    }
    if (!empty && last >= s.numel)
      bad(absl::StrCat("view (offset ", t.offset, ", size ", shape_string(t.sizes), ", stride ",
                       shape_string(t.strides), ") reaches beyond its storage '", s.key, "' of ",
                       s.numel, " elements"));
    const uint64_t nbytes = static_cast<uint64_t>(numel) * item;
    used += nbytes;
    uint8_t* dst = sink.allocate(t.name, s.dtype, t.sizes, t.requires_grad);
    if (nbytes == 0) continue;
    const uint64_t start = entry->data_offset + static_cast<uint64_t>(t.offset) * item;
    if (is_dense(t.sizes, t.strides)) {
      source.read(start, nbytes, dst, "tensor data");
    } else {
      const uint64_t span = static_cast<uint64_t>(last) - static_cast<uint64_t>(t.offset) + 1;
      if (span * item <= 4 * nbytes + (uint64_t{1} << 16)) {
        // The span the view covers is read at once, then gathered.
        const std::vector<uint8_t> bytes = source.read_bytes(start, span * item, "tensor data");
        gather(dst, item, t.sizes, t.strides, [&](int64_t element, uint8_t* out, size_t n) {
          std::memcpy(out, bytes.data() + static_cast<uint64_t>(element) * item, n);
        });
      } else {
        // A sparse view (a few elements far apart) reads only its elements, so that the work
        // stays proportional to the output, which the budget bounds, whatever the storage.
        gather(dst, item, t.sizes, t.strides, [&](int64_t element, uint8_t* out, size_t n) {
          source.read(start + static_cast<uint64_t>(element) * item, n, out, "tensor data");
        });
      }
    }
    if (s.dtype == boolean) normalize_bools(dst, nbytes);
  }
}

}  // namespace kiln::io
