// Linked into libkiln.so only for the GPU bundle (KILN_STATIC_DEPS): LLVM's static Support
// library calls arc4random, which glibc has only since 2.36. Defining it here binds LLVM's
// call inside libkiln.so, so the bundle loads on machines with glibc 2.34/2.35 (Ubuntu 22.04).
#include <sys/random.h>

#include <cstdint>
#include <ctime>

extern "C" uint32_t arc4random(void) {
  uint32_t value = 0;
  if (getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value))
    value = static_cast<uint32_t>(std::time(nullptr)) * 2654435761u;
  return value;
}
