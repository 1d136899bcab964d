// NVRTC compiles of the code-generation tests, remembered on disk when KILN_NVRTC_TEST_CACHE
// names a directory.
//
// `make test` runs the NVRTC suite twice: in the main build, then under the sanitizers, where
// it checks that kiln *generates* every kernel's source without a memory or UB error. The
// generated source is the same in both builds, and NVRTC (a closed, uninstrumented library)
// gives the same answer for the same source, so the second run would repeat minutes of
// compiles that the first has already checked. The sanitizer build's suites therefore read the
// main build's successful compiles: keyed by the whole source, the exact options
// (backends::cuda::nvrtc_options) and NVRTC's version, so a source the main build never
// compiled is compiled here. Failed compiles are
// never stored. Without the variable every call compiles.
#pragma once

#include <string_view>

#include "kiln/backends/cpu/disk_cache.h"
#include "kiln/backends/cuda/nvrtc.h"

namespace kiln::test {

// backends::cuda::nvrtc_compile, or its stored result for the same arguments in
// $KILN_NVRTC_TEST_CACHE.
backends::cuda::CompiledModule nvrtc_compile_cached(std::string_view source, std::string_view name,
                                                    int arch, bool cubin = true,
                                                    backends::cuda::NvrtcFlags flags = {});

// The same with an explicit store (null: always compile); *from_store says whether the result
// was read from it.
backends::cuda::CompiledModule nvrtc_compile_cached(const backends::cpu::DiskCache* cache,
                                                    std::string_view source, std::string_view name,
                                                    int arch, bool cubin,
                                                    backends::cuda::NvrtcFlags flags,
                                                    bool* from_store = nullptr);

}  // namespace kiln::test
