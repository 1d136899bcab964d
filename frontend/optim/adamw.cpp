#include "kiln/frontend/optim/adamw.h"

namespace kiln::optim {

AdamW::AdamW(std::vector<Tensor> params, double lr, std::pair<double, double> betas, double eps,
             double weight_decay, bool amsgrad, bool maximize)
    : AdamW(std::vector<ParamGroup>{ParamGroup(std::move(params))}, lr, betas, eps, weight_decay,
            amsgrad, maximize) {}

AdamW::AdamW(std::vector<ParamGroup> groups, double lr, std::pair<double, double> betas, double eps,
             double weight_decay, bool amsgrad, bool maximize)
    : Adam(std::move(groups), lr, betas, eps, weight_decay, amsgrad, maximize,
           /*decoupled_weight_decay=*/true) {}

}  // namespace kiln::optim
