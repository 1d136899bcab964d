#include "kiln/frontend/compile/trace_state.h"

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "kiln/runtime/error.h"

namespace kiln::frontend {
namespace {

std::atomic<TraceObserver*> active_observer{nullptr};

}  // namespace

bool tracing_active() { return active_observer.load(std::memory_order_relaxed) != nullptr; }

TraceObserver* trace_observer() { return active_observer.load(std::memory_order_relaxed); }

void fail_if_tracing(std::string_view what) {
  if (!tracing_active()) return;
  throw Error(absl::StrCat(
      "compile: the traced function needs a tensor's value (", std::string(what),
      "), but values are not computed while tracing: the compiled program would replay the "
      "value of the first call forever. Move this out of the compiled function, or compute "
      "it with tensor ops."));
}

TraceScope::TraceScope(TraceObserver* observer) {
  TraceObserver* expected = nullptr;
  if (!active_observer.compare_exchange_strong(expected, observer))
    throw Error(
        "compile: a compiled function called another compiled function while tracing; "
        "nested compile() is not supported");
}

TraceScope::~TraceScope() { active_observer.store(nullptr); }

}  // namespace kiln::frontend
