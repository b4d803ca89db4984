# The two commands of the README:
#   make run    install missing Debian packages, build, serve on the defaults
#   make test   the same set-up, then every test suite (see `test` below)
# Other targets: build, format, format-check, fuzz (long fuzz runs), clean.

JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
BUILD     ?= build
CMAKE_GEN  = cmake -S . -DCMAKE_BUILD_TYPE=RelWithDebInfo
CTEST      = ctest --output-on-failure --no-tests=error -j $(JOBS)
ARGS      ?=
FUZZ_SECONDS ?= 20
C_FILES    = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

.PHONY: all deps deps-test build run test test-default test-asan test-tsan \
        test-fuzz format format-check fuzz clean bench bench-smoke

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test browser

build: deps
	@$(CMAKE_GEN) -B $(BUILD) -DCMAKE_C_COMPILER=gcc -DSB_TESTS=OFF >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/scoreboard serve $(ARGS)

# Every suite: gcc build (unit, e2e, stress, valgrind, clients), clang with
# AddressSanitizer+UBSan (unit, e2e), clang with ThreadSanitizer (stress,
# unit, e2e), the libFuzzer targets briefly, the clang-format check, and
# bench-smoke (every benchmark workload once, so the harness cannot rot).
test: deps-test format-check test-default test-asan test-tsan test-fuzz \
      bench-smoke
	@echo "make test: all suites passed"

test-default:
	@$(CMAKE_GEN) -B build-test -DCMAKE_C_COMPILER=gcc >/dev/null
	@cmake --build build-test -j $(JOBS)
	cd build-test && $(CTEST) -LE fuzz

test-asan:
	@$(CMAKE_GEN) -B build-asan -DCMAKE_C_COMPILER=clang \
		-DSB_SANITIZE=address,undefined >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(CTEST) -L 'unit|e2e'

test-tsan:
	@$(CMAKE_GEN) -B build-tsan -DCMAKE_C_COMPILER=clang \
		-DSB_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		$(CTEST) -L 'stress|unit|e2e'

test-fuzz:
	@$(CMAKE_GEN) -B build-fuzz -DCMAKE_C_COMPILER=clang -DSB_FUZZ=ON \
		-DSB_SANITIZE=address,undefined -DSB_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	cd build-fuzz && $(CTEST) -L fuzz

# Long fuzz runs, outside `make test`: make fuzz FUZZ_SECONDS=600
fuzz:
	$(MAKE) test-fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

# scoreboard beside the Go peer and VictoriaMetrics (bench/run.sh): an
# optimized build in build-bench, every workload, the table on stdout and
# in bench/results/. bench-smoke runs each workload once for about a
# second, so the harness cannot rot.
bench:
	@scripts/install-deps.sh bench
	bench/run.sh

bench-smoke:
	@scripts/install-deps.sh bench
	bench/run.sh --smoke

format:
	clang-format -i $(C_FILES)

format-check:
	@clang-format --dry-run --Werror $(C_FILES) && echo "format-check: ok"

clean:
	rm -rf build build-test build-asan build-tsan build-fuzz
