# The golden tests' stand-in when FileCheck or python3 is missing: fails, naming what is missing.
message(FATAL_ERROR "golden IR tests cannot run: ${WHAT}")
