# claude-wrapper — two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_FLAGS ?= --disable-pip-version-check --quiet

.PHONY: run test test-unit test-e2e lint format typecheck bench bench-conversations bench-idle install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_FLAGS) -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Serve on $PORT (default 8000), bound to $CLAUDE_WRAPPER_HOST (default 0.0.0.0).
run: install
	$(BIN)/claude-wrapper

## The whole suite: unit, in-process ASGI and end-to-end (real CLI, fake upstream).
test: install-dev
	$(BIN)/python -m pytest

test-unit: install-dev
	$(BIN)/python -m pytest tests/unit tests/asgi

test-e2e: install-dev
	$(BIN)/python -m pytest tests/e2e

lint: install-dev
	$(BIN)/ruff check wrapper tests benchmarks examples
	$(BIN)/ruff format --check wrapper tests benchmarks examples
	$(BIN)/mypy

## mypy strict over wrapper, tests and benchmarks (the packages in pyproject.toml).
typecheck: install-dev
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format wrapper tests benchmarks examples
	$(BIN)/ruff check --fix wrapper tests benchmarks examples

## Flags for either benchmark, e.g. `make bench-conversations BENCH_ARGS=--quick`.
BENCH_ARGS ?=

bench: install-dev
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

## Latency and CPU by conversation (few-shot, unseen histories, sessions...) against a cold
## spawn per request, then one-shot traffic on a freshly restarted server.
bench-conversations: install-dev
	$(BIN)/python -m benchmarks.conversations $(BENCH_ARGS)

## A pooled server's CPU while nobody talks to it, and its next turns after the quiet spell,
## against the same server with no idle process frozen.
bench-idle: install-dev
	$(BIN)/python -m benchmarks.idle $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
