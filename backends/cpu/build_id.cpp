#include "kiln/backends/cpu/build_id.h"

#include <elf.h>
#include <link.h>

#include <cstdint>
#include <cstring>

namespace kiln::backends::cpu {
namespace {

struct Search {
  uintptr_t address;  // an address inside the binary we look for
  const unsigned char* id = nullptr;
  size_t size = 0;
};

bool contains(const dl_phdr_info& info, uintptr_t address) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info.dlpi_phdr[i];
    const uintptr_t start = info.dlpi_addr + segment.p_vaddr;
    if (segment.p_type == PT_LOAD && address >= start && address - start < segment.p_memsz) {
      return true;
    }
  }
  return false;
}

// Walks the PT_NOTE segments of the loaded binary (mapped in memory, so no file is read). Runs
// inside dl_iterate_phdr: it allocates nothing and cannot throw.
int find_build_id(dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<Search*>(data);
  if (!contains(*info, search->address)) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_NOTE) continue;
    const auto* note = reinterpret_cast<const unsigned char*>(info->dlpi_addr + segment.p_vaddr);
    const unsigned char* const end = note + segment.p_memsz;
    while (note + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) header;
      std::memcpy(&header, note, sizeof(header));
      const unsigned char* name = note + sizeof(header);
      const unsigned char* desc = name + ((header.n_namesz + 3) & ~3u);
      const unsigned char* next = desc + ((header.n_descsz + 3) & ~3u);
      if (next > end) break;
      if (header.n_type == NT_GNU_BUILD_ID && header.n_namesz == 4 &&
          std::memcmp(name, "GNU", 4) == 0) {
        search->id = desc;
        search->size = header.n_descsz;
        return 1;
      }
      note = next;
    }
  }
  return 1;  // the right binary, without a build ID
}

}  // namespace

const std::string& kiln_build_id() {
  static const std::string id = [] {
    Search search{reinterpret_cast<uintptr_t>(&find_build_id)};
    dl_iterate_phdr(find_build_id, &search);
    std::string hex;
    static constexpr char kDigits[] = "0123456789abcdef";
    for (size_t i = 0; i < search.size; ++i) {
      hex.push_back(kDigits[search.id[i] >> 4]);
      hex.push_back(kDigits[search.id[i] & 15]);
    }
    return hex;
  }();
  return id;
}

}  // namespace kiln::backends::cpu
