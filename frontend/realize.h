// Realization: computing pending lazy values.
#pragma once

#include <memory>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "kiln/frontend/lazy.h"

namespace kiln::frontend {

struct Storage;

// A storage's content became a pending value: lists the storage, so that realize_all()
// computes it, and counts the value; past a cap of pending values everything is realized, so
// memory never grows without bound (KILN_SYNC=1 realizes at every value).
void note_pending(const std::shared_ptr<Storage>& storage);
// Computes the values of `targets` (and every pending storage content), leaving each target
// realized: it then holds a buffer and acts as a leaf.
void realize(absl::Span<const LazyPtr> targets);
// The same for a caller that only reads the targets' values (item, tolist, printing, eval,
// saving, device transfers, which is how item and printing read CUDA tensors): a pending
// storage content that the targets' graph computes only on the way and that is cheap to
// compute again (a short elementwise chain over realized values) may stay pending instead of
// being stored, once. The temporaries of one C++ expression, such as the `(x * 2 + 1).exp() * x`
// in `((x * 2 + 1).exp() * x).sum().item<float>()`, are alive while item() runs; storing each
// of them would cost a write and a read of memory per temporary, where the fused kernel needs
// neither. Never used where memory is handed out or written (data_ptr, eager writes, traces):
// those compute every pending value first.
void realize_reading(absl::Span<const LazyPtr> targets);
// Computes every pending storage content.
void realize_all();
// Storages whose content is pending now (alive ones only).
std::vector<std::shared_ptr<Storage>> pending_storages();
// True when some storage may have pending content (cheap: no realization needed otherwise).
bool anything_pending();

}  // namespace kiln::frontend
