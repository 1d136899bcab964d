#include "kiln/frontend/nn/flatten.h"

#include "absl/strings/str_cat.h"

namespace kiln::nn {

std::string FlattenImpl::extra_repr() const {
  return absl::StrCat("start_dim=", start_dim_, ", end_dim=", end_dim_);
}

}  // namespace kiln::nn
