# The quickstart contract: `make demo` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DVC_ENV := $(VENV)/dvc-env
STAMP := $(VENV)/.installed
export NBA_ASSETS_SOURCE ?= synthetic
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export NBA_ASSETS_WAREHOUSE ?= $(CURDIR)/warehouse

.PHONY: setup demo ui test lint lock clean docs

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.txt requirements-dvc.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.txt -e '.[dev]'
	test -x $(DVC_ENV)/bin/python || $(PYTHON) -m venv $(DVC_ENV)
	$(DVC_ENV)/bin/python -m pip install --quiet -c requirements-dvc.txt dvc dvc-s3
	printf '#!/bin/sh\n# DVC lives in its own environment: it pins antlr4 4.9, Dagster needs 4.13.\n# Pipeline stages call `nba-assets` from the project environment, so its bin leads PATH.\nbin="$$(cd "$$(dirname "$$0")" && pwd)"\nPATH="$$bin:$$PATH"; export PATH\nexec "$$bin/../dvc-env/bin/dvc" "$$@"\n' > $(BIN)/dvc
	chmod +x $(BIN)/dvc
	touch $(STAMP)

demo: setup
	$(BIN)/nba-assets demo

# The UI over the same instance and warehouse the demo wrote (DAGSTER_HOME, NBA_ASSETS_SOURCE above),
# on loopback only, through `dg dev` (the project in pyproject.toml):
# `make ui NBA_ASSETS_SOURCE=replay UI_PORT=3001`.
UI_PORT ?= 3000
ui: setup
	$(BIN)/python -c "from nba_assets.cli import ensure_instance_home; ensure_instance_home()"
	PATH="$(CURDIR)/$(BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" $(BIN)/dg dev -h 127.0.0.1 -p $(UI_PORT)

test: setup
	$(BIN)/ruff check nba_assets nba_assets_tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# The docs site (MkDocs Material, offline, strict: a broken link or missing page fails).
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: setup
	$(BIN)/ruff check nba_assets nba_assets_tests bench
	$(BIN)/lint-imports
	$(BIN)/ruff format --check nba_assets nba_assets_tests bench

# Re-pin the lock files from a fresh resolve of pyproject.toml (and of dvc).
lock:
	rm -rf /tmp/nba-assets-lock && $(PYTHON) -m venv /tmp/nba-assets-lock
	/tmp/nba-assets-lock/bin/pip install --quiet -e '.[dev]'
	{ echo '# Pinned versions of every package (a pip constraints file; `make lock` regenerates it).'; \
	  /tmp/nba-assets-lock/bin/pip freeze --exclude-editable | grep -v '^-e'; } > requirements.txt
	rm -rf /tmp/nba-assets-lock && $(PYTHON) -m venv /tmp/nba-assets-lock
	/tmp/nba-assets-lock/bin/pip install --quiet dvc dvc-s3
	{ echo '# Pinned versions for the separate DVC environment (.venv/dvc-env).'; \
	  /tmp/nba-assets-lock/bin/pip freeze; } > requirements-dvc.txt

clean:
	rm -rf $(VENV) .dagster_home warehouse site
