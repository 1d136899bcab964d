# Runs a training example on the CPU and on another device and requires the same printed
# trajectory (losses, accuracies), once timings, the device's name and the output path are
# left out. Under KILN_EMULATE_CUDA the device's kernels are the CPU's, so the runs must agree
# to the printed digit; with KILN_EMULATE_CUDA_KERNELS=1 they are the CUDA backend's own
# kernels run on the host, which agree to the printed digit too.
#   cmake -DEXE=<program> -DDATA=<digits.csv.gz> -DOUT_DIR=<dir> -DDEVICE=cuda
#         -P same_training.cmake
foreach(var EXE DATA OUT_DIR DEVICE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "same_training.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run_on device out)
  execute_process(COMMAND "${EXE}" "${DATA}" "${OUT_DIR}/same_training_${device}.safetensors"
                          "${device}"
    OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr RESULT_VARIABLE status)
  if(NOT status STREQUAL "0")
    message(NOTICE "--- stdout:\n${stdout}--- stderr:\n${stderr}")
    message(FATAL_ERROR "${EXE} on ${device} failed (exit status: ${status})")
  endif()
  string(REGEX REPLACE "  [0-9.]+s\n" "\n" stdout "${stdout}")
  string(REGEX REPLACE ", on [a-z0-9:]+\n" "\n" stdout "${stdout}")
  string(REGEX REPLACE "saved to [^;]*;" "saved;" stdout "${stdout}")
  set(${out} "${stdout}" PARENT_SCOPE)
endfunction()

run_on(cpu on_cpu)
run_on(${DEVICE} on_device)
if(NOT on_cpu STREQUAL on_device)
  message(NOTICE "--- on cpu:\n${on_cpu}--- on ${DEVICE}:\n${on_device}")
  message(FATAL_ERROR "the training run on ${DEVICE} printed other values than on the CPU")
endif()
message(STATUS "same trajectory on cpu and ${DEVICE}:\n${on_device}")
