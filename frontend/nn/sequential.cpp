#include "kiln/frontend/nn/sequential.h"

#include "absl/strings/str_cat.h"

namespace kiln::nn {

Tensor SequentialImpl::forward(const Tensor& input) {
  Tensor x = input;
  for (const auto& [name, module] : named_children()) x = module->forward(x);
  return x;
}

std::shared_ptr<Module> SequentialImpl::operator[](int64_t index) const {
  const int64_t n = size();
  if (index < -n || index >= n) throw Error(absl::StrCat("index ", index, " is out of range"));
  if (index < 0) index += n;
  return named_children()[static_cast<size_t>(index)].second;
}

}  // namespace kiln::nn
