# BlueRanch: two commands set everything up on a fresh Debian machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: all venv system-deps lint test test-fast demo bench docs clean

all: venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

system-deps:
	@scripts/install-system-deps.sh

# Lint and format check (ruff), then the layers (import-linter, contracts in pyproject.toml).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/lint_imports.py

test: venv system-deps lint
	$(BIN)/python -m pytest

test-fast: venv
	$(BIN)/python -m pytest -m "not slow"

demo: venv system-deps
	$(BIN)/blueranch demo

bench: venv system-deps
	$(BIN)/python -m bench

docs: venv
	$(BIN)/python -m blueranch.contracts.doc --write

clean:
	rm -rf $(VENV) .demo build *.egg-info
