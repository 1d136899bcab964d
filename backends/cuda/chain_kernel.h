// Row chains on the CUDA backend: consecutive kernel steps that pass each other values row by
// row (cpu/row_chains.h's planner: a softmax's amax, sum of exp(x - max) and division) run as
// one kernel, a block per row (codegen.h, emit_cuda_chain_kernel): the block runs every step
// on its row, with a barrier between steps, so a later step reads what an earlier one wrote
// (and the row of the input it reads again) from L1/L2 instead of device memory. Run one
// kernel per step, a softmax over a large matrix reads it three times and its sums once each;
// as a chain, once.
//
// Each step computes exactly what its own launch computes: elementwise points are independent,
// and a reduction's point is reduced by as many threads, striding alike, as its own
// block-per-point launch uses (reduction_threads; the idle threads of the block are whole
// warps that the combine leaves out; a warp-per-point launch gives the same bits).
// Steps whose own launch would split a reduction across blocks (split_plan) end a chain.
// KILN_ROW_CHAINS=0 turns chains off here as on the CPU.
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/backends/cpu/row_chains.h"
#include "kiln/ir/kernel.h"

namespace kiln::backends::cuda {

// A chain's rows must stay in L2 while a block runs its steps: an H100/H200 holds about 1,000
// blocks of 256 threads at once (132 SMs x 8) against 50 MiB of L2, about 48 KiB each. This
// limit counts a row of every value the chain touches, results that no later step reads
// included (a softmax over 4096 floats whose exp is materialized: x, exp and the result, 16 KiB
// each, of which only x and exp are read again), hence 64 KiB. An estimate, not a measurement:
// the GPU check's benchmark runs that softmax with and without chains. Longer rows run step
// by step, as before.
constexpr int64_t kMaxChainRowBytes = int64_t{64} << 10;

// CUDA's kernel parameter limit of 4 KiB (before CUDA 12.1 and Volta): a chain kernel takes
// every step's parameter words.
constexpr size_t kMaxChainParamBytes = 4096;

// The row chains of `program` (lowered from `graph`) that the CUDA backend runs as chain
// kernels on a device with `multiprocessors` SMs.
std::vector<cpu::RowChain> plan_cuda_row_chains(const ir::Graph& graph, const ir::Program& program,
                                                int multiprocessors);

// The block size of the chain kernel of `chain`: the largest a step needs (a reduction its
// reduction_threads, an elementwise step its points per row, in warps), at most 256.
unsigned chain_threads(const ir::Program& program, const cpu::RowChain& chain);

// Whether the chain runs a warp per row (emit_cuda_chain_kernel's warp_per_row): when no step
// needs more than 32 threads a row (chain_threads), 8 rows share a 256-thread block instead of
// each taking a block of one warp whose steps end in block barriers.
bool chain_warp_per_row(const ir::Program& program, const cpu::RowChain& chain);

// Threads and blocks of the chain kernel's launch (each block then takes rows blockIdx.x,
// + gridDim.x, ..., or 8 rows at a time with a warp per row).
unsigned chain_launch_threads(const ir::Program& program, const cpu::RowChain& chain);
unsigned chain_blocks(const ir::Program& program, const cpu::RowChain& chain, int multiprocessors);

}  // namespace kiln::backends::cuda
