# Katalusis: `make run` starts the platform, `make test` runs every check and test.

DATABASE_URL      ?= mysql://root@127.0.0.1:3306/katalusis
# sqlx::test creates and drops its own databases through this connection.
TEST_DATABASE_URL ?= mysql://root@127.0.0.1:3306/mysql
CARGO             ?= cargo
PYTHON            ?= python3
# Manifest validators (kubernetes-validate, the Helm engine, check-jsonschema) live in a venv.
KATALUSIS_VENV    ?= /opt/katalusis-venv
# The operator tests write the Pod specs they produce here for schema validation.
POD_DUMP_DIR      ?= /tmp/katalusis-operator-pods

export DATABASE_URL

.PHONY: connectors-e2e run demo test check fmt fmt-check clippy test-runner test-rust test-contract test-k8s validate-k8s crdgen bench deps deps-k8s deps-schemathesis help \
	web-deps web-check web-build web-e2e web-dev

# Where cargo puts binaries (CI keeps it outside the clone).
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))
WEB        := frontend
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json -type f 2>/dev/null)

help:
	@echo "make run    - apply migrations and start the API server on 127.0.0.1:8080"
	@echo "make demo   - make run with a demo manager, client, workflows and runs (passwords in the log)"
	@echo "make test   - formatting, clippy -D warnings, runner tests, Rust tests, the API contract fuzz, SPA checks and browser tests"
	@echo "make test-contract - schemathesis against a live server, once per role (scripts/schemathesis.sh)"
	@echo "make bench  - criterion benchmarks, the end-to-end engine benchmark (and side by side with n8n), the task list, analytics, million-row list and task import benchmarks, one vs two API replicas"
	@echo "make test-k8s - CRD, operator and controller tests, then validate CRDs, chart, Pods, compose"
	@echo "make crdgen - regenerate the CRD YAML from the Rust types"
	@echo "make web-check / web-build / web-e2e - SPA lint+types+unit, production build, browser tests"
	@echo "make web-dev - Vite dev server on :5173 proxying /api to 127.0.0.1:8080"
	@echo "make connectors-e2e - SQL Server and MongoDB connector tests against real servers in Docker"

# Host packages the platform needs (bubblewrap sandboxes nodes; slirp4netns, nsenter and ip
# give trusted nodes their own network namespace; jq/curl for the walkthrough).
deps:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v slirp4netns >/dev/null || missing="$$missing slirp4netns"; \
	command -v nsenter >/dev/null || missing="$$missing util-linux"; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	command -v jq >/dev/null || missing="$$missing jq"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Pinned manifest validators; offline once installed (schemas ship in the packages).
deps-k8s:
	@if ! $(KATALUSIS_VENV)/bin/python -c "import kubernetes_validate, helm_python, check_jsonschema" 2>/dev/null; then \
	  echo "installing the manifest validators into $(KATALUSIS_VENV)"; \
	  $(PYTHON) -m venv $(KATALUSIS_VENV) && \
	  $(KATALUSIS_VENV)/bin/pip install -q kubernetes-validate==1.37.0 helm-python-sdk==0.2.2 check-jsonschema==0.39.0; \
	fi

# schemathesis for the contract test (scripts/schemathesis.sh), pinned.
deps-schemathesis: deps-k8s
	@$(KATALUSIS_VENV)/bin/python -c "import schemathesis" 2>/dev/null || \
	  $(KATALUSIS_VENV)/bin/pip install -q schemathesis==4.32.5

run: deps $(WEB)/dist/index.html
	$(CARGO) run --release -p katalusis-api-server --bin katalusis-api

# The same server, seeding the demo (idempotent: later starts create nothing new).
demo: deps $(WEB)/dist/index.html
	KATALUSIS_DEMO=true $(CARGO) run --release -p katalusis-api-server --bin katalusis-api

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-runner:
	$(PYTHON) -m unittest discover -s runner/tests

test-rust:
	rm -rf $(POD_DUMP_DIR)
	DATABASE_URL=$(TEST_DATABASE_URL) OPERATOR_TEST_POD_DUMP_DIR=$(POD_DUMP_DIR) $(CARGO) test --workspace

# CRDs (generated vs committed), chart, operator Pods and compose file against their schemas.
validate-k8s: deps-k8s
	$(KATALUSIS_VENV)/bin/python scripts/validate-manifests.py --pods-dir $(POD_DUMP_DIR)

# Needs Docker (not on the development machines): see scripts/connectors-e2e.sh.
connectors-e2e:
	scripts/connectors-e2e.sh

test-k8s: deps-k8s
	rm -rf $(POD_DUMP_DIR)
	OPERATOR_TEST_POD_DUMP_DIR=$(POD_DUMP_DIR) $(CARGO) test -p katalusis-crds -p katalusis-operator
	$(MAKE) --no-print-directory validate-k8s

crdgen:
	$(CARGO) run -q -p katalusis-operator --bin crdgen

test: deps deps-k8s fmt-check clippy test-runner test-rust validate-k8s test-contract web-check web-e2e

# The running server fuzzed from its own OpenAPI document, once per role:
# every status, body and constraint the document states must hold.
test-contract: deps-schemathesis
	$(CARGO) build -q -p katalusis-api-server --bin katalusis-api
	KATALUSIS_API_BIN=$(TARGET_DIR)/debug/katalusis-api scripts/schemathesis.sh

# openpyxl writes the import benchmark's workbook; wrk drives the replica benchmark.
bench: deps-k8s
	@$(KATALUSIS_VENV)/bin/python -c "import openpyxl" 2>/dev/null || $(KATALUSIS_VENV)/bin/pip install -q openpyxl==3.1.5
	$(CARGO) bench -p katalusis-crds
	$(CARGO) bench -p katalusis-import
	$(PYTHON) bench/run_bench.py
	BENCH_SKIP_BUILD=1 $(PYTHON) bench/versus_n8n.py
	$(PYTHON) bench/tasks_bench.py
	$(PYTHON) bench/analytics_bench.py
	$(PYTHON) bench/lists_bench.py
	$(KATALUSIS_VENV)/bin/python bench/import_bench.py
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(PYTHON) bench/replicas_bench.py

# --- Web SPA (frontend/) ---------------------------------------------------

# npm ci only when the lock file changed since the last install. The lock file
# lists every platform's optional packages (Tailwind's oxide binaries), so
# `npm ci` installs exactly the locked tree on any machine and never rewrites it.
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
