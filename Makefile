# notesite: `make run` starts the application, `make test` runs every check.
# Both create .venv/ with Python 3.12+ and install the pinned requirements first.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON_FOR_VENV := $(shell for p in python3.14 python3.13 python3.12 python3 python; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' \
	>/dev/null 2>&1 && { echo $$p; break; }; done)
PYTEST_ARGS ?=

.PHONY: run test lint format bench clean llama-server

$(BIN)/python:
	@test -n "$(PYTHON_FOR_VENV)" || { echo "notesite needs Python 3.12 or newer on PATH." >&2; exit 1; }
	$(PYTHON_FOR_VENV) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime-installed

## run: web server + worker (+ embedded PostgreSQL and Redis when none is configured), Ctrl-C stops all
run: $(VENV)/.dev-installed
	$(BIN)/python scripts/run.py

## test: lint, format check, migrations check and the whole test suite
test: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=migrations-check DEBUG=true $(BIN)/python -W ignore::RuntimeWarning manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the benchmark suite (docs/performance.md) in its own database and Redis db;
## BENCH_ARGS="--quick" for a smoke run, BENCH_ARGS="--notes 1000000" for the million-note rows
bench: $(VENV)/.runtime-installed
	SECRET_KEY="$${SECRET_KEY:-bench-only-key-never-used-for-anything-else}" \
		$(BIN)/python manage.py bench $(BENCH_ARGS)

## llama-server: build llama.cpp's server from the pinned llama-cpp-python sdist (cached in
## ~/.cache/notesite/, reused later) for the `llama` tests; needs cmake and a C++ compiler
llama-server: | $(BIN)/python
	PYTHON=$(BIN)/python scripts/build_llama_server.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .test-postgres
