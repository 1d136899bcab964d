// The digits data set as both digits examples use it: features scaled to [0, 1], an 80/20
// split in a fixed random order (randperm after manual_seed(0), as the PyTorch scripts do).
#pragma once

#include <string>

#include <kiln/kiln.h>

namespace kiln_examples {

struct DigitsSplit {
  kiln::Tensor x_train, y_train, x_test, y_test;
  int64_t n_train = 0;
  int64_t n_test = 0;
};

inline DigitsSplit load_digits(const std::string& path) {
  using namespace kiln;
  manual_seed(0);
  const Tensor table = data::read_csv(path);
  const int64_t n = table.size(0);
  const Tensor order = randperm(n);
  const Tensor x_all = table.index({order, Slice(0, 64)}) / 16.0f;
  const Tensor y_all = table.index({order, 64}).to(int64);
  DigitsSplit d;
  d.n_train = n * 8 / 10;
  d.n_test = n - d.n_train;
  d.x_train = x_all.index({Slice(0, d.n_train)});
  d.y_train = y_all.index({Slice(0, d.n_train)});
  d.x_test = x_all.index({Slice(d.n_train, None)});
  d.y_test = y_all.index({Slice(d.n_train, None)});
  eval(d.x_train, d.y_train, d.x_test, d.y_test);
  return d;
}

}  // namespace kiln_examples
