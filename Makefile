# kiln: `make run` builds and runs the examples; `make test` builds and runs every test.
BUILD ?= build
ASAN_BUILD ?= build-asan
BENCH_BUILD ?= build-bench
JOBS ?= $(shell nproc)
# ccache keys on paths relative to the checkout, so fresh clones (CI) reuse earlier compiles.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps configure build run test test-unit test-conformance test-asan test-fuzz bench format clean

all: build

deps:
	@tools/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	@tools/run-examples.sh $(BUILD)

test: test-unit test-conformance test-asan test-fuzz

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The shared conformance programs against PyTorch's outputs, then the same programs with the
# default device on an emulated CUDA device (tools/gpu_conformance.py emulated), running the CPU
# backend's kernels and then the CUDA backend's own kernels compiled for the host.
test-conformance: build
	python3 tools/check-conformance.py --build $(BUILD)
	@if [ -f ../shared/conformance/expected.json ]; then \
	  python3 tools/gpu_conformance.py build --build $(BUILD) --out $(BUILD)/device-conformance \
	    --work $(BUILD)/device-conformance-work --jobs $(JOBS) >/dev/null && \
	  python3 tools/gpu_conformance.py emulated --bin $(BUILD)/device-conformance && \
	  python3 tools/gpu_conformance.py emulated --bin $(BUILD)/device-conformance --host-kernels; \
	else echo "conformance on the emulated CUDA device: ../shared/conformance not found; skipped"; fi

# The GoogleTest suites again under AddressSanitizer + UndefinedBehaviorSanitizer; the NVRTC
# suite reuses the compiles of the main build's run (tests/cuda/nvrtc_test_cache.h). GCC 12
# reports false uninitialized-use warnings inside Abseil under the sanitizers, so warnings are
# not errors in this build (the main build keeps -Werror).
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON -DKILN_WERROR=OFF \
	  -DKILN_BUILD_EXAMPLES=OFF -DKILN_NVRTC_TEST_CACHE=$(CURDIR)/$(BUILD)/test-kernel-cache/nvrtc-tests \
	  >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)

# The libFuzzer target of the model-file loaders (safetensors, torch.save), built with clang
# under ASan+UBSan in build-fuzz and run for FUZZ_SECONDS on the committed seed corpus.
FUZZ_SECONDS ?= 60
test-fuzz:
	tools/run-fuzzers.sh $(FUZZ_SECONDS)

# kiln against LibTorch on the same workloads, then a table of ratios (benchmarks/README.md).
# Needs libtorch-dev, installed here only. Extra flags: make bench BENCH_ARGS=--benchmark_filter=matmul
bench:
	@tools/install-deps.sh bench
	@cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_BUILD_BENCHMARKS=ON \
	  -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_EXAMPLES=OFF >/dev/null
	@cmake --build $(BENCH_BUILD) -j$(JOBS) --target kiln_bench
	$(BENCH_BUILD)/benchmarks/kiln_bench $(BENCH_ARGS)

format:
	@git ls-files '*.h' '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD) build-fuzz
