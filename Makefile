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

.PHONY: help venv system-deps check-data run test unit lint rds-ca-bundle build bench restore migrate openapi clean

help:
	@echo "make run    start the local API on http://127.0.0.1:3000 (PORT=N for another port)"
	@echo "make test   install everything and run the whole test suite"
	@echo "make lint   ruff, cfn-lint and checkov"
	@echo "make build  sam build (no Docker)"
	@echo "make bench  benchmarks, written to docs/benchmarks.md"
	@echo "make restore SNAPSHOT=<id|latest>  restore a snapshot (docs/backups.md)"
	@echo "make migrate  apply infra/migrations to the database the DB_* variables name"

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

# PORT=N serves on another port, e.g. beside a run on 3000.
# WEB_CLIENT_ORIGIN=http://localhost:5173 lets that web client through CORS.
run: venv system-deps check-data
	$(BIN)/python -m infra.local.run $(if $(PORT),--port $(PORT)) \
		$(if $(WEB_CLIENT_ORIGIN),--web-client-origin $(WEB_CLIENT_ORIGIN))

unit: venv check-data
	$(BIN)/python -m pytest tests/unit

test: venv system-deps check-data lint
	$(BIN)/python -m pytest

# checkov and the SAM CLI pin versions of boto3 (and more) that conflict
# with the runtime pins and with each other, so each gets its own venv.
TOOLS_VENV ?= .venv-tools
CHECKOV := $(TOOLS_VENV)/checkov/bin/checkov
SAM := $(TOOLS_VENV)/sam/bin/sam

$(TOOLS_VENV)/%/.installed: infra/tools/requirements-%.txt
	@test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) not found: install it (pyenv install $(PYTHON_VERSION)) or set PYTHON"; exit 1; }
	$(PYTHON) -m venv $(TOOLS_VENV)/$*
	$(TOOLS_VENV)/$*/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS_VENV)/$*/bin/python -m pip install --quiet -r $<
	touch $@

# BC_SKIP_MAPPING and --skip-download keep checkov offline: it checks the
# template against its bundled policies and fetches nothing.
lint: venv $(TOOLS_VENV)/checkov/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	BC_SKIP_MAPPING=TRUE $(CHECKOV) --file template.yaml --framework cloudformation \
		--compact --quiet --skip-download

# The CA bundle that verifies RDS certificates goes into the layer's package.
# RDS_CA_BUNDLE=path copies a local PEM file in place of the checked download
# (a machine without internet access).
RDS_CA_BUNDLE ?=
RDS_CA_BUNDLE_FILE := layers/common/nature_risk/certs/rds-global-bundle.pem

rds-ca-bundle: venv
	@if [ -n "$(RDS_CA_BUNDLE)" ]; then \
		install -D -m 0644 "$(RDS_CA_BUNDLE)" $(RDS_CA_BUNDLE_FILE); \
		echo "Copied $(RDS_CA_BUNDLE) to $(RDS_CA_BUNDLE_FILE), SHA-256 $$(sha256sum $(RDS_CA_BUNDLE_FILE) | cut -d' ' -f1)"; \
	else \
		$(BIN)/python -m infra.fetch_rds_ca_bundle --output $(RDS_CA_BUNDLE_FILE); \
	fi

# sam build without Docker needs python3.13 on PATH (the venv's) for the
# functions, and the layer's Makefile runs pip from the same interpreter.
build: venv check-data rds-ca-bundle $(TOOLS_VENV)/sam/.installed
	@test -n "$(BIODIVERSITY_DATA_DIR)" || { echo "BIODIVERSITY_DATA_DIR is not set: point it at the biodiversity data folder (see README)"; exit 1; }
	PATH="$(abspath $(BIN)):$$PATH" PYTHON="$(abspath $(BIN)/python)" SAM_CLI_TELEMETRY=0 \
		$(SAM) build --template template.yaml

bench: venv system-deps check-data
	PYTHONPATH=layers/common:. $(BIN)/python -m bench.run

# Verify a snapshot and restore it into the database the DB_* variables name;
# BACKUP_BUCKET names the bucket. See docs/backups.md.
restore: venv
	@test -n "$(SNAPSHOT)" || { echo "Set SNAPSHOT to a snapshot id or 'latest'; list them with: PYTHONPATH=layers/common $(BIN)/python -m nature_risk.backup list"; exit 1; }
	PYTHONPATH=layers/common $(BIN)/python -m nature_risk.backup restore $(SNAPSHOT) $(RESTORE_ARGS)

# Apply the schema migrations to the database the DB_* variables name (see
# README, Saved portfolios). Applied files are recorded, so a rerun is a no-op.
migrate: venv
	PYTHONPATH=layers/common $(BIN)/python -m nature_risk.storage.migrations

openapi: venv check-data
	$(BIN)/python -m infra.local.openapi --write

clean:
	rm -rf $(VENV) $(TOOLS_VENV) .aws-sam .local .pytest_cache .ruff_cache .hypothesis
