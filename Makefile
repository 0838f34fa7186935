# Katalusis: `make run` starts the platform, `make test` runs every check and test.

DATABASE_URL      ?= mysql://root@127.0.0.1:3306/katalusis
# sqlx::test creates and drops its own databases through this connection.
TEST_DATABASE_URL ?= mysql://root@127.0.0.1:3306/mysql
CARGO             ?= cargo
PYTHON            ?= python3

export DATABASE_URL

.PHONY: run test check fmt fmt-check clippy test-runner test-rust bench deps help

help:
	@echo "make run    - apply migrations and start the API server on 127.0.0.1:8080"
	@echo "make test   - formatting, clippy -D warnings, runner tests, Rust tests"
	@echo "make bench  - criterion benchmarks and the end-to-end engine benchmark"

# Host packages the platform needs (bubblewrap sandboxes nodes; jq/curl for the walkthrough).
deps:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v jq >/dev/null || missing="$$missing jq"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

run: deps
	$(CARGO) run --release -p katalusis-api-server --bin katalusis-api

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-runner:
	$(PYTHON) -m unittest discover -s runner/tests

test-rust:
	DATABASE_URL=$(TEST_DATABASE_URL) $(CARGO) test --workspace

test: deps fmt-check clippy test-runner test-rust

bench:
	$(CARGO) bench -p katalusis-crds
	$(PYTHON) bench/run_bench.py
