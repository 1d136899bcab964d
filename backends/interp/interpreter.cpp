#include "kiln/backends/interp/interpreter.h"
#include "kiln/runtime/error.h"
namespace kiln::backends::interp {
std::vector<BufferPtr> Interpreter::run(const ir::Graph&, absl::Span<const BufferPtr>) {
  throw Error("interp: not yet implemented");
}
}  // namespace kiln::backends::interp
