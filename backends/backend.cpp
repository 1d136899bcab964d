#include "kiln/backends/backend.h"

#include <cstdlib>
#include <string>

#include "kiln/backends/interp/interpreter.h"
#include "kiln/runtime/error.h"

namespace kiln::backends {

Backend& backend_for(Device device) {
  if (!device.is_cpu()) throw Error("no backend for device " + device.str());
  static Backend* chosen = [] () -> Backend* {
    const char* env = std::getenv("KILN_BACKEND");
    const std::string want = env ? env : "";
    if (!want.empty() && want != "interp")
      throw Error("KILN_BACKEND=" + want + " is not available (expected 'interp')");
    static interp::Interpreter interpreter;
    return &interpreter;
  }();
  return *chosen;
}

}  // namespace kiln::backends
