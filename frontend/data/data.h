// kiln::data: small helpers to get real data sets into tensors and through a training loop.
//   auto table = data::read_csv("digits.csv.gz");          // [1797, 65] float32
//   data::DataLoader loader(x, y, 32, /*shuffle=*/true);
//   for (const data::Batch& b : loader) { ... b.inputs, b.targets ... }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/frontend/tensor.h"

namespace kiln::data {

struct CsvOptions {
  bool skip_header = false;  // the first line is not data
  char delimiter = ',';
  DType dtype = float32;
};

// A numeric CSV file (gzip-compressed when it starts with gzip's magic bytes, whatever its
// name) as a [rows, columns] tensor. Throws kiln::Error naming the file, line and column for a
// missing or unreadable file, a non-numeric field, or rows of different lengths.
Tensor read_csv(const std::string& path, const CsvOptions& options = {});

struct Batch {
  Tensor inputs;
  Tensor targets;
};

// Minibatches of (inputs[i], targets[i]) rows: consecutive, or in a fresh random order (from
// the global generator, like torch.randperm) at every begin(). The last batch may be smaller.
class DataLoader {
 public:
  DataLoader(Tensor inputs, Tensor targets, int64_t batch_size, bool shuffle = false);

  class iterator {
   public:
    using value_type = Batch;
    Batch operator*() const;
    iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator!=(const iterator& other) const { return index_ != other.index_; }

   private:
    friend class DataLoader;
    iterator(const DataLoader* loader, Tensor order, int64_t index)
        : loader_(loader), order_(std::move(order)), index_(index) {}
    const DataLoader* loader_;
    Tensor order_;  // int64 row order of this pass (undefined: in order)
    int64_t index_;
  };

  iterator begin() const;
  iterator end() const;
  int64_t size() const;  // batches per pass
  int64_t num_samples() const { return inputs_.size(0); }

 private:
  Tensor inputs_, targets_;
  int64_t batch_size_;
  bool shuffle_;
};

}  // namespace kiln::data
