// The public API (shared/API.md): included through <kiln/kiln.h>.
#pragma once

#include "kiln/frontend/compile.h"
#include "kiln/frontend/creation.h"
#include "kiln/frontend/data/data.h"
#include "kiln/frontend/grad_api.h"
#include "kiln/frontend/indexing.h"
#include "kiln/frontend/io/serialize.h"
#include "kiln/frontend/jit/jit.h"
#include "kiln/frontend/memory.h"
#include "kiln/frontend/nn/nn.h"
#include "kiln/frontend/optim/optim.h"
#include "kiln/frontend/state_dict.h"
#include "kiln/frontend/tensor.h"
