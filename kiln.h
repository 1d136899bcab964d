// The umbrella header: everything a kiln user needs, in namespace kiln.
#pragma once

#include "kiln/frontend/api.h"
