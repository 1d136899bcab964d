// Built by the install test against an installed kiln: proves the headers, library and CMake
// package are complete.
#include <kiln/kiln.h>

#include <iostream>

int main() {
  using namespace kiln;
  std::cout << (arange(6, float32).reshape({2, 3}) * 2 + 1).exp().sum(1) << "\n";
  return 0;
}
