// Realization: computing pending lazy values.
#pragma once

#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "kiln/frontend/lazy.h"

namespace kiln::frontend {

struct Storage;

// Lists a storage whose content is pending, so that realize_all() computes it.
void register_pending(const std::shared_ptr<Storage>& storage);
// Computes the values of `targets` (and every pending storage content), leaving each target
// realized: it then holds a buffer and acts as a leaf.
void realize(absl::Span<const LazyPtr> targets);
// Computes every pending storage content.
void realize_all();
// Called when a node is recorded: realizes everything once the pending graph passes the cap,
// so memory never grows without bound (KILN_SYNC=1 realizes after every op).
void note_recorded_node();

}  // namespace kiln::frontend
