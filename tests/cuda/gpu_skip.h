// How the device tests skip. GPU_OR_SKIP: the test needs a CUDA device, real or emulated
// (KILN_EMULATE_CUDA, runtime/cuda/emulated_driver.h): it checks what the frontend and runtime
// do with device tensors. GPU_KERNELS_OR_SKIP: the test checks the CUDA backend's own kernels
// (their results, or which kernel ran), which only a real GPU runs.
#pragma once

#include <gtest/gtest.h>

#include "kiln/backends/cuda/host_kernels.h"
#include "kiln/kiln.h"
#include "kiln/runtime/cuda/driver.h"
#include "kiln/runtime/cuda/emulated_driver.h"

#define GPU_OR_SKIP()             \
  if (!kiln::cuda_is_available()) \
  GTEST_SKIP() << "no CUDA device: " << kiln::runtime::cuda::why_unavailable()

#define GPU_KERNELS_OR_SKIP()                                                            \
  GPU_OR_SKIP();                                                                         \
  if (kiln::runtime::cuda::emulated() && !kiln::backends::cuda::kernels_run_on_host())   \
  GTEST_SKIP() << "the emulated CUDA device runs no kernels (KILN_EMULATE_CUDA) unless " \
                  "KILN_EMULATE_CUDA_KERNELS=1"

// The test needs tensor cores (inline PTX), which host modules cannot run.
#define TENSOR_CORES_OR_SKIP()                     \
  GPU_KERNELS_OR_SKIP();                           \
  if (kiln::backends::cuda::kernels_run_on_host()) \
  GTEST_SKIP() << "tensor-core kernels do not run on the host (KILN_EMULATE_CUDA_KERNELS)"
