// kiln-irdump's driver: loads the input, runs the passes, lowers and prints the requested
// sections. main() only collects argv and calls irdump_main, so tests run the whole tool in
// process with their own streams.
#pragma once

#include <iosfwd>
#include <string_view>
#include <vector>

#include "irdump/options.h"

namespace kiln::irdump {

// Exit codes: 0 success, 1 bad input or a failed step, 2 usage error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

// Runs parsed options; the result goes to `out` (or to options.output, written atomically),
// messages "kiln-irdump: ..." to `err`. Never throws: failures are messages and exit codes.
int run(const Options& options, std::ostream& out, std::ostream& err);

// Parses `args` (argv without the program name) and runs them.
int irdump_main(const std::vector<std::string_view>& args, std::ostream& out, std::ostream& err);

}  // namespace kiln::irdump
