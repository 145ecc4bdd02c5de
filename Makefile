# vswitch: the two commands a new user runs are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
RELEASE := target/release

.PHONY: all deps build demo test unit lint e2e perf-check bench clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	$(CARGO) build --release --workspace

demo: build
	@bash scripts/demo.sh

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: deps
	$(CARGO) test --workspace

e2e: build
	@bash tests/e2e/run.sh

# The benchmark harness's own tests and a 5 s smoke of the vhost-user loop (not a speed check).
perf-check: build
	cd perf && python3 -m unittest -q test_harness
	python3 perf/bench.py --smoke

test: lint unit perf-check e2e

bench: build
	@bash scripts/deps.sh --bench
	@bash perf/run.sh

clean:
	$(CARGO) clean
