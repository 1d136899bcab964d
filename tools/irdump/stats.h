// kiln-irdump --stats: what a lowered program costs, counted from its steps (so values fusion
// recomputes in several kernels count once per kernel, as they run).
//   kernels        kernel steps, plus matmul epilogues (run tile by tile inside their matmul)
//   library steps  matmul, index, index_put, cat, as_strided_scatter
//   bytes moved    per step, the bytes of every buffer it reads or writes, each counted once
//                  and whole (a broadcast or a view reads its buffer, not the size of the view;
//                  a fused constant reads nothing). An epilogue's read of its matmul's result
//                  is not counted: the tile is still in cache.
//   FLOPs          1 per elementwise op per point of its kernel's iteration space, 1 per input
//                  element of a reduction, 2*m*n*k per matmul (times the batch); library
//                  routines that only move data count none
//   buffers        the materialized values (inputs, outputs, intermediates) and their bytes
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/ir/graph.h"
#include "kiln/ir/kernel.h"

namespace kiln::irdump {

struct StepStats {
  std::string what;    // "kernel elementwise -> %3", "library matmul -> %4"
  int64_t points = 0;  // iteration points (kernels), 0 for library steps
  int64_t bytes = 0;
  int64_t flops = 0;
};

struct BufferStats {
  ir::ValueId value = -1;
  std::string role;  // "input", "output", "intermediate"
  int64_t bytes = 0;
};

struct ProgramStats {
  int64_t kernels = 0;  // kernel steps, epilogues not included
  int64_t epilogues = 0;
  int64_t library_steps = 0;
  int64_t bytes_moved = 0;
  int64_t flops = 0;
  std::vector<StepStats> steps;  // epilogues follow their matmul
  std::vector<BufferStats> buffers;
  int64_t buffer_bytes = 0;
};

ProgramStats compute_stats(const ir::Graph& graph, const ir::Program& program);

// One "key: value" line per total, then one line per step and per buffer.
std::string format_stats(const ir::Graph& graph, const ProgramStats& stats);

}  // namespace kiln::irdump
