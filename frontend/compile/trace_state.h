// What the frontend must know while compile() traces a function (compile.h): the function
// runs on the call's real tensors, every op records lazily as usual, and the recorded graph
// becomes the compiled program. Values are never computed during a trace, because a value
// read on the host (item(), printing, a random draw) would be frozen into the program; the
// hooks here let the frontend refuse such reads and let the tracer see which storages the
// function read, created and wrote.
#pragma once

#include <memory>
#include <string_view>

#include "kiln/runtime/device.h"

namespace kiln::frontend {

struct LazyNode;
struct Storage;
struct TensorImpl;

// The hooks a trace installs (compile/trace.cpp); at most one trace runs at a time.
class TraceObserver {
 public:
  virtual ~TraceObserver() = default;
  // `t` was read while its storage held a computed buffer: the program takes that storage's
  // content as an input at every call.
  virtual void on_read_realized(const std::shared_ptr<TensorImpl>& t) = 0;
  // A storage was created during the trace.
  virtual void on_storage_created(const std::shared_ptr<Storage>& storage) = 0;
  // to(device) of `value` (dense, on its own device): returns the copy on `device`, a computed
  // leaf whose bytes the tracer fills once the function has returned (trace.h, TracedStage).
  virtual std::shared_ptr<LazyNode> on_transfer(const std::shared_ptr<LazyNode>& value,
                                                Device device) = 0;
};

// True while a function is being traced (on any thread: tracing is not thread-safe with
// concurrent eager work, see docs/compile.md).
bool tracing_active();
TraceObserver* trace_observer();

// Throws kiln::Error when tracing: `what` (e.g. "item()") needs a value, which a compiled
// program cannot read at trace time without freezing it.
void fail_if_tracing(std::string_view what);

// Installs `observer` for the lifetime of the scope; throws if a trace is already active.
class TraceScope {
 public:
  explicit TraceScope(TraceObserver* observer);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;
};

}  // namespace kiln::frontend
