# BlueRanch: two commands set everything up on a fresh Debian machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# pip quiet (errors still show). setuptools prints an "Editable installation" notice for every editable
# install with a package-dir mapping (pyproject.toml: one namespace, blueranch, over the role folders): the
# default strategy (a meta path finder) and editable_mode=strict (a link tree) both print it, and
# editable_mode=compat cannot map folders. It is information only (setuptools.warnings.InformationOnly),
# so it is filtered by its message; every other warning shows.
PIP := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: all venv system-deps node-deps lint test test-fast demo bench docs dist clean

all: venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@echo "Installing BlueRanch and its dependencies into $(VENV) (pip; 1-2 min the first time, seconds after) ..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --upgrade pip
	@$(PIP) install -e '.[test]'
	@touch $(STAMP)

system-deps:
	@scripts/install-system-deps.sh

# TypeScript and Grafana's @grafana/schema (dashboards/package-lock.json) for the dashboard schema test.
node-deps: system-deps
	@scripts/node-deps.sh $(VENV)/node

# Lint and format check (ruff), then the layers (import-linter, contracts in pyproject.toml).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/lint_imports.py

test: venv system-deps node-deps lint
	@echo "Running the whole suite against real Mosquitto and InfluxDB (about 9 min on 2 cores) ..."
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: venv node-deps
	$(BIN)/python -m pytest -m "not slow"

demo: venv system-deps
	$(BIN)/blueranch demo

bench: venv system-deps
	$(BIN)/python -m bench

docs: venv
	$(BIN)/python -m blueranch.contracts.doc --write

# The wheel and sdist a gateway installs from (README: "Installing an edge agent on a gateway").
dist: venv
	@echo "Building the wheel and sdist into dist/ (python -m build; about 30 s) ..."
	@rm -rf dist
	@env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m build --quiet --outdir dist .
	@ls dist/*

clean:
	rm -rf $(VENV) .demo build dist *.egg-info
