# fieldcourt: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv kafka-jars prometheus-tools compose-tool browser-tools asyncapi-specs test test-unit check lint typecheck format demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

kafka-jars:
	bash deploy/kafka/fetch.sh
prometheus-tools: ; bash deploy/prometheus/install.sh
compose-tool: ; bash deploy/docker/install-compose.sh
## Debian's chromium and chromium-driver, for the dashboard's browser tests (Selenium from PyPI).
browser-tools: ; bash deploy/browser/install.sh

## The official AsyncAPI JSON Schemas (npm @asyncapi/specs, by the AsyncAPI Initiative), against
## which a test validates docs/asyncapi.yaml; installed once per pinned version, git-ignored.
ASYNCAPI_SPECS_VERSION := 6.11.1
ASYNCAPI_SPECS_STAMP := .cache/npm/.asyncapi-specs-$(ASYNCAPI_SPECS_VERSION)
$(ASYNCAPI_SPECS_STAMP):
	@command -v npm >/dev/null || { echo "make: npm is needed (apt-get install npm)" >&2; exit 1; }
	npm install --prefix .cache/npm --save-exact --no-audit --no-fund --loglevel=error \
		@asyncapi/specs@$(ASYNCAPI_SPECS_VERSION)
	touch $@
asyncapi-specs: $(ASYNCAPI_SPECS_STAMP)

## The whole suite against real brokers the tests start and stop themselves, in TEST_WORKERS
## processes (pytest-xdist; each process starts its own shared broker). The integration tests
## spend most of their time waiting (rebalances, session timeouts, the demo's story), so two
## processes on two cores take 9 min where one took 16 (2026-12-04). TEST_WORKERS=0: one.
TEST_WORKERS ?= 2
test: venv kafka-jars prometheus-tools asyncapi-specs compose-tool browser-tools
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

test-unit: venv
	$(BIN)/pytest -m "not kafka"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

check: lint typecheck test

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## DEMO_ARGS=--quick: the story without background (what CI runs).
DEMO_ARGS ?=
demo: venv kafka-jars
	$(BIN)/fieldcourt demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) var .cache .pytest_cache .mypy_cache .ruff_cache

## fieldcourt side by side with its stack's ceiling, on a broker of its own (var/bench/):
## raw aiokafka, a trivial Faust agent, fieldcourt end to end, latency, the in-memory core, state.
## BENCH_ARGS=--quick for a short run (see `.venv/bin/python -m benchmarks.run --help`);
## BENCH_ARGS=--profile also py-spies the worker (installs py-spy). Prints a table, writes
## var/bench/results.json and var/bench/bench.png, ends with one line `BENCH {json}`.
BENCH_ARGS ?=
MATPLOTLIB_VERSION := 3.11.2
PY_SPY_VERSION := 0.4.3
BENCH_STAMP := $(VENV)/.bench-matplotlib-$(MATPLOTLIB_VERSION)
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install -q matplotlib==$(MATPLOTLIB_VERSION)
	touch $@
.PHONY: bench
bench: venv kafka-jars $(BENCH_STAMP)
	$(if $(findstring --profile,$(BENCH_ARGS)),$(BIN)/pip install -q py-spy==$(PY_SPY_VERSION))
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)
