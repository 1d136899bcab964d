// kiln::optim: optimizers (torch.optim). Included by <kiln/kiln.h>.
#pragma once

#include "kiln/frontend/optim/adam.h"
#include "kiln/frontend/optim/adamw.h"
#include "kiln/frontend/optim/optimizer.h"
#include "kiln/frontend/optim/sgd.h"
