#include "kiln/backends/cpu/row_chains.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cpu/split_reduction.h"

namespace kiln::backends::cpu {
namespace {

// The rows of a step that may join a chain on this backend: its leading launch dim when that
// dim is kept, and the step runs its points independently on native code; nullopt otherwise.
std::optional<int64_t> cpu_step_rows(const ir::ProgramStep& step) {
  const std::optional<int64_t> rows = leading_kept_rows(step);
  if (!rows) return std::nullopt;
  const ir::LoopKernel& k = step.kernel;
  if (!can_emit(k) || split_count(k, step.launch) > 1 || points_per_block(k) > 1)
    return std::nullopt;
  return rows;
}

// Whether argument `a` of `step` touches only row r of its value's buffer at launch row r,
// the buffer seen as `rows` equal slices of `row_elements` elements.
bool row_local(const ir::ProgramStep& step, size_t a, int64_t row_elements) {
  const ir::KernelLaunch& launch = step.launch;
  const Shape& strides = launch.strides[a];
  if (strides[0] != row_elements) return false;
  const int64_t offset = launch.offsets[a];
  if (offset < 0) return false;
  int64_t last = offset;  // the highest element a row touches, relative to its start
  for (size_t d = 1; d < strides.size(); ++d) {
    if (strides[d] < 0) return false;
    last += (launch.sizes[d] - 1) * strides[d];
  }
  return last < row_elements;
}

class ChainBuilder {
 public:
  ChainBuilder(const ir::Graph& graph, const ir::Program& program, StepRows step_rows)
      : graph_(graph), program_(program), step_rows_(step_rows) {}

  std::vector<RowChain> build() {
    for (size_t s = 0; s < program_.steps.size(); ++s) {
      const std::optional<int64_t> rows = step_rows_(program_.steps[s]);
      if (!rows) {
        close();
        continue;
      }
      if (open_ && *rows == chain_.rows && joins(s)) {
        const int64_t held = held_bytes_ + dying_bytes(chain_.last);
        if (held <= kMaxHeldBytes) {
          held_bytes_ = held;
          add(s);
          continue;
        }
      }
      close();
      chain_ = RowChain{s, s, *rows, 1, {}};
      produced_.clear();
      row_bytes_.clear();
      held_bytes_ = 0;
      open_ = joins(s);
      if (open_) add(s);
    }
    close();
    return std::move(chains_);
  }

 private:
  // Elements of one row of value v, or 0 when its buffer is not `rows` equal slices.
  int64_t row_elements(ir::ValueId v) const {
    const int64_t n = numel(graph_.node(v).type.shape);
    return n % chain_.rows == 0 ? n / chain_.rows : 0;
  }

  // Bytes of the values the chain produced whose buffers the memory plan frees after step s:
  // a chain frees nothing before its end, so these stay held while later steps run.
  int64_t dying_bytes(size_t s) const {
    int64_t bytes = 0;
    for (const ir::ValueId v : program_.memory.release_after[s]) {
      if (!produced_.contains(v)) continue;
      const ir::TensorType& type = graph_.node(v).type;
      bytes += numel(type.shape) * static_cast<int64_t>(itemsize(type.dtype));
    }
    return bytes;
  }

  // Step s's writes, and its reads of values the open chain produced, are row-local.
  bool joins(size_t s) const {
    const ir::ProgramStep& step = program_.steps[s];
    for (size_t a = 0; a < step.arg_values.size(); ++a) {
      const ir::ValueId v = step.arg_values[a];
      if (!step.kernel.args[a].is_output && !produced_.contains(v)) continue;
      const int64_t row = row_elements(v);
      if (row == 0 || !row_local(step, a, row)) return false;
    }
    return true;
  }

  void add(size_t s) {
    const ir::ProgramStep& step = program_.steps[s];
    chain_.last = s;
    chain_.points_per_row.push_back(parallel_extent(step.kernel, step.launch) / chain_.rows);
    for (size_t a = 0; a < step.arg_values.size(); ++a) {
      const ir::ValueId v = step.arg_values[a];
      if (step.kernel.args[a].is_output) produced_.insert(v);
      // Values read across rows (a broadcast row) are shared by every block: not counted.
      if (step.launch.strides[a][0] == 0) continue;
      const ir::TensorType& type = graph_.node(v).type;
      row_bytes_.try_emplace(
          v, (numel(type.shape) / chain_.rows) * static_cast<int64_t>(itemsize(type.dtype)));
    }
  }

  void close() {
    if (open_ && chain_.last > chain_.first) {
      int64_t bytes = 0;
      for (const auto& [v, b] : row_bytes_) bytes += b;
      chain_.row_bytes = bytes;
      chain_.rows_per_block =
          std::clamp<int64_t>(kRowBlockBytes / std::max<int64_t>(bytes, 1), 1, chain_.rows);
      chains_.push_back(std::move(chain_));
    }
    open_ = false;
  }

  const ir::Graph& graph_;
  const ir::Program& program_;
  StepRows step_rows_;
  std::vector<RowChain> chains_;
  bool open_ = false;
  RowChain chain_;
  absl::flat_hash_set<ir::ValueId> produced_;  // outputs of the open chain's steps
  absl::flat_hash_map<ir::ValueId, int64_t> row_bytes_;
  int64_t held_bytes_ = 0;  // dying_bytes of the open chain's steps before its last
};

}  // namespace

std::vector<RowChain> plan_row_chains(const ir::Graph& graph, const ir::Program& program) {
  return plan_row_chains(graph, program, cpu_step_rows);
}

std::vector<RowChain> plan_row_chains(const ir::Graph& graph, const ir::Program& program,
                                      StepRows step_rows) {
  // Without the memory plan (programs lowered by hand) what a chain holds is unknown.
  if (!row_chains_enabled() || program.memory.release_after.size() != program.steps.size())
    return {};
  return ChainBuilder(graph, program, step_rows).build();
}

std::optional<int64_t> leading_kept_rows(const ir::ProgramStep& step) {
  if (step.kind != ir::ProgramStep::Kind::kKernel || step.kernel.kept_dims() < 1)
    return std::nullopt;
  const int64_t rows = step.launch.sizes[0];
  if (rows < 2) return std::nullopt;
  return rows;
}

bool row_chains_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("KILN_ROW_CHAINS");
    return v == nullptr || std::string_view(v) != "0";
  }();
  return on;
}

}  // namespace kiln::backends::cpu
