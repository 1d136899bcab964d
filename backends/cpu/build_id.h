// The GNU build ID of the binary that holds kiln's code (libkiln.so, or an executable linking
// kiln's objects statically), as lowercase hex.
//
// Part of the kernel disk-cache key: KILN_VERSION only changes at releases, while the code that
// lowers kernels to LLVM IR changes between any two builds during development. Keyed by the
// build ID, a rebuilt kiln never loads an object that an older build compiled from the same
// kernel key; one installed build reuses its objects across processes as before.
#pragma once

#include <string>

namespace kiln::backends::cpu {

// Empty if the binary has no build ID note (linked with --build-id=none).
const std::string& kiln_build_id();

}  // namespace kiln::backends::cpu
