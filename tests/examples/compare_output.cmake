# Runs an example program and compares its standard output byte for byte with the output
# PyTorch printed for the equivalent Python program.
#   cmake -DEXE=<program> -DEXPECTED=<file.expected> [-DACTUAL=<where to keep the output>]
#         -P compare_output.cmake
# Fails when the program exits non-zero (an uncaught kiln::Error, a crash) or when any byte
# differs. On a mismatch it prints a unified diff (with `diff -u` when available, else the
# first differing line) and the full actual output, verbatim.
foreach(var EXE EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compare_output.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${EXPECTED}")
  message(FATAL_ERROR "expected output ${EXPECTED} does not exist")
endif()
if(NOT DEFINED ACTUAL)
  get_filename_component(name "${EXE}" NAME)
  set(ACTUAL "${CMAKE_CURRENT_BINARY_DIR}/${name}.actual")
endif()

execute_process(COMMAND "${EXE}"
  OUTPUT_FILE "${ACTUAL}"
  ERROR_VARIABLE stderr
  RESULT_VARIABLE status)
if(NOT status STREQUAL "0")
  file(READ "${ACTUAL}" partial)
  message(NOTICE "--- stdout so far:\n${partial}--- stderr:\n${stderr}")
  message(FATAL_ERROR "${EXE} failed (exit status: ${status})")
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${EXPECTED}" "${ACTUAL}"
  RESULT_VARIABLE differ)
if(NOT differ)
  return()
endif()

# Splits `text` at its first newline: `line` gets what comes before, `text` the rest.
# (Plain string operations: tensor text holds brackets, which CMake lists mishandle.)
macro(pop_line text line)
  string(FIND "${${text}}" "\n" newline)
  if(newline EQUAL -1)
    set(${line} "${${text}}")
    set(${text} "")
  else()
    string(SUBSTRING "${${text}}" 0 ${newline} ${line})
    math(EXPR newline "${newline} + 1")
    string(SUBSTRING "${${text}}" ${newline} -1 ${text})
  endif()
endmacro()

file(READ "${EXPECTED}" want_text)
file(READ "${ACTUAL}" got_text)
find_program(DIFF_PROGRAM diff)
if(DIFF_PROGRAM)
  execute_process(COMMAND "${DIFF_PROGRAM}" -u "${EXPECTED}" "${ACTUAL}" OUTPUT_VARIABLE report)
else()
  set(report "")
  set(want_rest "${want_text}")
  set(got_rest "${got_text}")
  set(lineno 1)
  while(report STREQUAL "")
    if(want_rest STREQUAL "" AND got_rest STREQUAL "")
      set(report "the outputs differ only in their last line ending\n")
      break()
    endif()
    pop_line(want_rest want)
    pop_line(got_rest got)
    if(NOT want STREQUAL got)
      set(report "--- ${EXPECTED}\n+++ ${ACTUAL}\nfirst difference at line ${lineno}:\n- ${want}\n+ ${got}\n")
    endif()
    math(EXPR lineno "${lineno} + 1")
  endwhile()
endif()
message(NOTICE "${report}--- actual output:\n${got_text}")
message(FATAL_ERROR "${EXE}: output differs from ${EXPECTED}")
