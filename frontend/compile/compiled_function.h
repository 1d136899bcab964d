// The engine behind kiln::compile (frontend/compile.h): a cache of traced programs per call
// signature, and their replay.
//
// A call's signature is what a trace depends on: per tensor argument its dtype, rank, device,
// requires_grad and which earlier argument it aliases, plus grad mode and the non-tensor
// arguments (their values are frozen into the trace). Programs are specialized further by
// sizes: a new size of the same signature traces again, but every kernel is found in the
// kernel cache (kernels take sizes at run time), so no code is generated. Every (re)trace says
// why under KILN_LOG=recompiles.
//
// A replay binds the buffers (arguments, captured tensors, constants), runs the compiled
// program, and stores the outputs: fresh tensors for results, new contents for arguments and
// state the function wrote. It builds no graph. When the results carry autograd history (the
// function was traced with inputs that require grad), the traced graph is instead recorded
// again over the new inputs, so that backward() reaches them; its realization then finds the
// compiled program in the realization cache.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiln/frontend/compile/trace.h"

namespace kiln::frontend {

struct CompileStats {
  int64_t traces = 0;     // calls that traced (the first, recompiles)
  int64_t replays = 0;    // calls that ran a compiled program
  int64_t rerecords = 0;  // replays that recorded the graph again for autograd
};

// What a call's trace depends on, one string per part, so that a recompile can name the part
// that changed.
struct CallKey {
  std::vector<std::string> signature;  // per argument, then grad mode and host arguments
  std::vector<std::string> sizes;      // per argument
};

class CompiledCore {
 public:
  explicit CompiledCore(std::string name);
  ~CompiledCore();
  CompiledCore(const CompiledCore&) = delete;
  CompiledCore& operator=(const CompiledCore&) = delete;

  // Runs one call: `args` are the tensor arguments, `host_key` encodes the non-tensor ones,
  // `fn` calls the user's function with the original arguments.
  std::vector<Tensor> call(const std::vector<Tensor>& args, const std::string& host_key,
                           const TracedFunction& fn);

  // The graph of the latest trace (before passes); throws before the first call.
  const ir::Graph& graph() const;
  const CompileStats& stats() const { return stats_; }

 private:
  struct Entry;
  // The call's results, or nothing when a guard failed (`why` then says which).
  std::optional<std::vector<Tensor>> replay(Entry& entry, const std::vector<Tensor>& args,
                                            std::string* why);
  std::optional<std::vector<Tensor>> rerecord(Entry& entry, const std::vector<Tensor>& args,
                                              std::string* why);
  std::vector<Tensor> retrace(CallKey key, Entry* previous, const std::string& why,
                              const std::vector<Tensor>& args, const TracedFunction& fn);

  std::string name_;
  std::vector<std::unique_ptr<Entry>> entries_;
  const Entry* latest_ = nullptr;
  CompileStats stats_;
};

}  // namespace kiln::frontend
