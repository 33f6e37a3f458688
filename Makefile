# Thin wrapper over CMake/CTest. `make zdtm` and `make test` do all set-up on a fresh machine.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
KERNEL     ?= host
JOBS       ?= $(shell nproc)
ZDTM_ARGS  ?=
TESTS      ?=
FUZZ_SECONDS ?= 600

.PHONY: all deps configure build test unit zdtm matrix fuzz sweep bench clean

all: build

deps:
	@ci/deps.sh --check 2>/dev/null || ci/deps.sh

configure: deps
	@test -f $(BUILD)/build.ninja || cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

unit: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

zdtm: build
	ci/zdtm.sh $(BUILD) "$(KERNEL)" "$(RESTORE_KERNEL)" "$(TESTS)" $(ZDTM_ARGS)

# Everything CI checks.
test: build
	ci/test.sh $(BUILD)

matrix: build
	ci/matrix.sh $(BUILD)

fuzz:
	ci/fuzz.sh $(FUZZ_SECONDS)

sweep: build
	fuzz/sweep.sh $(BUILD)

bench: build
	ci/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD)
