// Debian's Abseil is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW=0),
// which does not convert from std::string_view. kiln's interfaces speak std::string_view;
// wrap one with sv() where it meets absl::StrCat/StrFormat/StrJoin.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace kiln {

inline absl::string_view sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace kiln
