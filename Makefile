# The two commands: `make test` (set-up, build, tests) and, once the best-of-N issue lands,
# `make demo` (the main job). Everything else here is a convenience.
SWIFT ?= swift
THREADS ?= 1

.PHONY: setup build debug test bench-core fixtures clean

setup:
	@./scripts/setup-torch.sh

build: setup
	$(SWIFT) build -c release

debug: setup
	$(SWIFT) build

# Tests run with one intra-op thread: on 2 cores a second busy process makes more threads
# far slower, and results must not depend on the thread count.
test: setup
	OMP_NUM_THREADS=1 $(SWIFT) test

bench-core: build
	OMP_NUM_THREADS=$(THREADS) .build/release/dreamprm bench core --threads $(THREADS)

# Regenerates the reference fixtures (needs python3 with torch, safetensors, transformers).
fixtures:
	python3 tools/fixtures/make_foundation_fixtures.py

clean:
	rm -rf .build
