#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/data/data.h"
#include "kiln/frontend/indexing.h"
#include "kiln/runtime/error.h"

namespace kiln::data {

DataLoader::DataLoader(Tensor inputs, Tensor targets, int64_t batch_size, bool shuffle)
    : inputs_(std::move(inputs)),
      targets_(std::move(targets)),
      batch_size_(batch_size),
      shuffle_(shuffle) {
  if (batch_size <= 0)
    throw Error(
        absl::StrCat("DataLoader: batch_size should be a positive integer, got ", batch_size));
  if (inputs_.dim() == 0 || targets_.dim() == 0 || inputs_.size(0) != targets_.size(0))
    throw Error(absl::StrCat("DataLoader: inputs and targets need the same number of rows, got ",
                             shape_to_string(inputs_.sizes()), " and ",
                             shape_to_string(targets_.sizes())));
}

int64_t DataLoader::size() const { return (num_samples() + batch_size_ - 1) / batch_size_; }

DataLoader::iterator DataLoader::begin() const {
  // The order is drawn on the CPU generator (as RandomSampler), whatever the default device.
  return iterator(this, shuffle_ ? randperm(num_samples(), {.device = cpu}) : Tensor(), 0);
}

DataLoader::iterator DataLoader::end() const { return iterator(this, Tensor(), size()); }

Batch DataLoader::iterator::operator*() const {
  const int64_t n = loader_->num_samples();
  const int64_t start = index_ * loader_->batch_size_;
  const int64_t stop = std::min(n, start + loader_->batch_size_);
  if (!order_.defined())
    return Batch{loader_->inputs_.index({Slice(start, stop)}),
                 loader_->targets_.index({Slice(start, stop)})};
  const Tensor rows = order_.index({Slice(start, stop)});
  return Batch{loader_->inputs_.index({rows}), loader_->targets_.index({rows})};
}

}  // namespace kiln::data
