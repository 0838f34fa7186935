# Katalusis: `make run` starts the platform, `make test` runs every check and test.

DATABASE_URL      ?= mysql://root@127.0.0.1:3306/katalusis
# sqlx::test creates and drops its own databases through this connection.
TEST_DATABASE_URL ?= mysql://root@127.0.0.1:3306/mysql
CARGO             ?= cargo
PYTHON            ?= python3

export DATABASE_URL

.PHONY: run test check fmt fmt-check clippy test-runner test-rust bench deps help \
	web-deps web-check web-build web-e2e web-dev

# Where cargo puts binaries (CI keeps it outside the clone).
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))
WEB        := frontend
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json -type f 2>/dev/null)

help:
	@echo "make run    - apply migrations and start the API server on 127.0.0.1:8080"
	@echo "make test   - formatting, clippy -D warnings, runner tests, Rust tests"
	@echo "make bench  - criterion benchmarks and the end-to-end engine benchmark"
	@echo "make web-check / web-build / web-e2e - SPA lint+types+unit, production build, browser tests"
	@echo "make web-dev - Vite dev server on :5173 proxying /api to 127.0.0.1:8080"

# Host packages the platform needs (bubblewrap sandboxes nodes; jq/curl for the walkthrough).
deps:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v jq >/dev/null || missing="$$missing jq"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

run: deps $(WEB)/dist/index.html
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

test: deps fmt-check clippy test-runner test-rust web-check web-e2e

bench:
	$(CARGO) bench -p katalusis-crds
	$(PYTHON) bench/run_bench.py

# --- Web SPA (frontend/) ---------------------------------------------------

# npm ci only when the lock file changed since the last install.
$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund

web-deps: $(WEB)/node_modules/.package-lock.json

# Lint, formatting, types, unit tests, and the typed client against the server's OpenAPI document.
web-check: web-deps
	cd $(WEB) && npx eslint . && npx prettier --check . && npx tsc --noEmit && npx vitest run
	$(CARGO) build -q -p katalusis-api-server --bin openapi
	cd $(WEB) && KATALUSIS_OPENAPI_BIN=$(TARGET_DIR)/debug/openapi node scripts/gen-api.mjs --check

# Rebuilt only when a source is newer than the build (`make run` relies on this).
$(WEB)/dist/index.html: $(WEB_SOURCES) $(WEB)/node_modules/.package-lock.json
	cd $(WEB) && npx vite build

web-build: $(WEB)/dist/index.html

# Browser tests: real Chromium against the real server and a throw-away MariaDB database.
web-e2e: web-deps web-build
	$(CARGO) build -q -p katalusis-api-server --bin katalusis-api
	cd $(WEB) && KATALUSIS_API_BIN=$(TARGET_DIR)/debug/katalusis-api npm run e2e

web-dev: web-deps
	cd $(WEB) && npx vite
