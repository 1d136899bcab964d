// kiln-irdump: prints kiln programs (textual IR or saved .kiln files), the passes' effects, the
// loop IR, generated code, fusion decisions and costs. See docs/irdump.md and --help.
#include <iostream>
#include <string_view>
#include <vector>

#include "irdump/irdump.h"

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  return kiln::irdump::irdump_main(args, std::cout, std::cerr);
}
