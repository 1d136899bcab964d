// kiln::nn: modules, layers, initialisation and losses (torch.nn). Included by <kiln/kiln.h>.
#pragma once

#include "kiln/frontend/nn/activation.h"
#include "kiln/frontend/nn/dropout.h"
#include "kiln/frontend/nn/flatten.h"
#include "kiln/frontend/nn/init.h"
#include "kiln/frontend/nn/linear.h"
#include "kiln/frontend/nn/loss.h"
#include "kiln/frontend/nn/module.h"
#include "kiln/frontend/nn/module_holder.h"
#include "kiln/frontend/nn/sequential.h"
