# Nature-risk screening backend: set-up, local run, tests, lint, build, benchmarks.
# `make run` and `make test` do all set-up on a fresh machine.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# The functions' runtime (template.yaml) and the tests use the same Python.
PYTHON_VERSION ?= 3.13.0
PYTHON ?= $(shell PYENV_VERSION=$(PYTHON_VERSION) python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null || command -v python3.13)
VENV ?= .venv
BIN := $(VENV)/bin

# Data folders: the official releases live outside the repository.
ENCORE_KB_DIR ?= $(if $(wildcard ../shared/encore),$(abspath ../shared/encore),)
BIODIVERSITY_DATA_DIR ?= $(if $(wildcard ../shared/biodiversity),$(abspath ../shared/biodiversity),)
export ENCORE_KB_DIR BIODIVERSITY_DATA_DIR

REQUIREMENTS := layers/common/requirements.txt requirements-dev.txt

.PHONY: help venv system-deps check-data run test unit lint build bench restore openapi clean

help:
	@echo "make run    start the local API on http://127.0.0.1:3000"
	@echo "make test   install everything and run the whole test suite"
	@echo "make lint   ruff, cfn-lint and checkov"
	@echo "make build  sam build (no Docker)"
	@echo "make bench  benchmarks, written to docs/benchmarks.md"

$(BIN)/.installed: $(REQUIREMENTS)
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found: install it (pyenv install $(PYTHON_VERSION)) or set PYTHON"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(addprefix -r ,$(REQUIREMENTS))
	touch $@

venv: $(BIN)/.installed

# PostgreSQL server binaries for the integration tests and the local run.
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
		else echo "PostgreSQL server binaries not found: install the postgresql package"; exit 1; fi; \
	fi

check-data:
	@test -n "$(ENCORE_KB_DIR)" || { echo "ENCORE_KB_DIR is not set: download an ENCORE release and point ENCORE_KB_DIR at its folder (see README)"; exit 1; }

run: venv system-deps check-data
	$(BIN)/python -m infra.local.run

unit: venv check-data
	$(BIN)/python -m pytest tests/unit

test: venv system-deps check-data lint
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

build: venv check-data
	$(BIN)/sam build --template template.yaml

bench: venv system-deps check-data
	$(BIN)/python -m bench.run

openapi: venv check-data
	$(BIN)/python -m infra.local.openapi --write

clean:
	rm -rf $(VENV) .aws-sam .local .pytest_cache .ruff_cache .hypothesis
