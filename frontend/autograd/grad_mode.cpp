#include "kiln/frontend/autograd/grad_mode.h"

namespace kiln::frontend::autograd {
namespace {
thread_local bool enabled = true;
}  // namespace

bool grad_enabled() { return enabled; }
void set_grad_enabled(bool on) { enabled = on; }

}  // namespace kiln::frontend::autograd
