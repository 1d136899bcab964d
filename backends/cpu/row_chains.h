// Row chains: consecutive kernel steps of a program that pass each other values row by row
// run together, a block of rows at a time, so that what one step writes is still in the
// core's cache when the next step reads it.
//
// A softmax over the rows of a matrix is four kernels (amax, exp(x - max), sum, div): run one
// after the other over a 64 MB matrix, each reads its operands from memory, and the exp result
// is written and read twice. Over a block of rows of a few hundred kilobytes, every step after
// the first finds its operands in L2; the matrix is read from memory once and each result
// written once. Blocks go to the thread pool, each thread running every step of the chain on
// its blocks.
//
// A chain's steps share the leading launch dim (the rows: R, never reduced), and every value a
// step writes, or reads from an earlier step of the chain, is addressed row-locally: row r of
// the launch touches only row r of the buffer (the rows being R equal slices of the buffer).
// Each step runs the parallel points of its rows, which compute what they compute in the
// step's own launch, so a chain changes no result: it only changes the order in which points
// run. Steps that split a reduction across threads, reduce blocks of columns together, or run
// on the loop-IR evaluator end a chain. KILN_ROW_CHAINS=0 turns chains off.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"

#include "kiln/ir/kernel.h"

namespace kiln::backends::cpu {

// The bytes of a block's rows of every value a chain touches. A core's L2 (1 MiB here) was
// the best of those measured on a softmax over 4096 x 4096 floats whose exp is kept (2 cores,
// 32 MiB L3): 96 KiB blocks 10.5 ms, 256 KiB 9.5, 768 KiB 9.1, 1 MiB 8.8, 4 MiB 8.7-9.2,
// 16 MiB 10.3-10.7, no chain 12.0-12.9.
constexpr int64_t kRowBlockBytes = 1024 * 1024;

// A chain releases no buffer before its last step has run, so values that the memory plan
// frees inside the chain are held longer; a step does not join a chain once these would
// exceed this (a softmax's chain holds its row maxima, a few kilobytes).
constexpr int64_t kMaxHeldBytes = int64_t{16} << 20;

struct RowChain {
  size_t first = 0;  // program steps [first, last]
  size_t last = 0;
  int64_t rows = 0;                     // R, the leading launch dim of every step
  int64_t rows_per_block = 1;           // sized so that a block's rows of every value fit in L2
  std::vector<int64_t> points_per_row;  // per step: its parallel points in one row
  int64_t row_bytes = 0;                // bytes of one row of every value the chain touches
};

// The program's row chains (two steps or more each), in step order.
std::vector<RowChain> plan_row_chains(const ir::Graph& graph, const ir::Program& program);

// The same with another backend's rule for which steps may join a chain: `step_rows` returns
// a kernel step's rows (its leading launch dim) when the backend can run that step row by row
// as its own launch would, nullopt otherwise. The CUDA backend's chain kernels
// (cuda/chain_kernel.h) plan with this.
using StepRows = absl::FunctionRef<std::optional<int64_t>(const ir::ProgramStep&)>;
std::vector<RowChain> plan_row_chains(const ir::Graph& graph, const ir::Program& program,
                                      StepRows step_rows);

// The rows of a kernel step that keeps its leading launch dim (of at least 2), else nullopt:
// what every backend's StepRows asks first.
std::optional<int64_t> leading_kept_rows(const ir::ProgramStep& step);

// False when KILN_ROW_CHAINS=0.
bool row_chains_enabled();

}  // namespace kiln::backends::cpu
