// The host side of the Hopper matmul (matmul.h's wgmma kernel): device check, tensor maps and
// launch. Needs the driver (unlike matmul.h's source generators).
#pragma once

#include <cstdint>

#include "kiln/backends/cuda/matmul.h"

namespace kiln::backends::cuda {

// True when device `index` runs the kernel: compute capability exactly 9.0 (sm_90a code), the
// shared memory it needs, and a driver with cuTensorMapEncodeTiled.
bool wgmma_device(int index);

// Launches the kernel for `p` (plan from matmul_wgmma_plan) over `batch` batch entries on the
// default stream. False, with nothing launched, when the driver refuses a tensor map (the caller
// then takes another kernel).
bool launch_matmul_wgmma(int index, DType dtype, const MatmulParams& p, const WgmmaPlan& plan,
                         int64_t batch);

}  // namespace kiln::backends::cuda
