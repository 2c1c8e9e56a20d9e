# DAG Studio — make run / make test / make lint.
#
# The virtualenv .venv is created here (python3 -m venv) and filled with `pip install -e '.[dev]'`;
# it is re-installed only when pyproject.toml changes (stamp file .venv/.installed). The Debian
# libraries Qt needs are checked by scripts/ensure_system_deps.sh (apt-get when root, otherwise it
# prints the exact command to run). The Airflow 3.3.2 virtualenv of the differential tests lives in
# .venv-airflow and is created by tests/oracle/airflow_env.py (target airflow-venv).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=
PYTEST_ARGS ?=

.PHONY: help run test fast-test lint format bench airflow-venv system-deps clean

help:
	@echo "make run [ARGS='...']   open DAG Studio (default: sample_projects/ml_pipeline); ARGS go to dagstudio"
	@echo "make test               lint + the whole test suite, Airflow differential tests included"
	@echo "make fast-test          the test suite without the Airflow differential tests"
	@echo "make lint               ruff check, ruff format --check, lint-imports (layer contracts)"
	@echo "make format             ruff format + ruff check --fix"
	@echo "make bench              run the benchmarks in bench/"
	@echo "make airflow-venv       create .venv-airflow (Apache Airflow 3.3.2) for the differential tests"
	@echo "make clean              remove .venv, caches and build output"

$(PY):
	@command -v $(PYTHON) >/dev/null || scripts/ensure_system_deps.sh python
	@$(PYTHON) -m venv --clear $(VENV) || { \
		rm -rf $(VENV); \
		scripts/ensure_system_deps.sh venv; \
		$(PYTHON) -m venv $(VENV); }

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

system-deps:
	@scripts/ensure_system_deps.sh qt

run: $(STAMP)
	@scripts/run.sh $(PY) $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

airflow-venv: $(STAMP)
	@echo "Preparing the Airflow 3.3.2 virtualenv for the differential tests (first time: about a minute)..."
	$(PY) -c "from tests.oracle.airflow_env import airflow_python; print(airflow_python())"

# pytest exits 5 when it collects no tests; like every non-zero exit that fails the target.
test: lint system-deps airflow-venv
	$(PY) -m pytest $(PYTEST_ARGS)

fast-test: $(STAMP) system-deps
	$(PY) -m pytest -m "not airflow and not docker" $(PYTEST_ARGS)

bench: $(STAMP)
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmarks in bench/" >&2; exit 1; fi; \
	for script in "$${scripts[@]}"; do echo "== $$script"; $(PY) "$$script"; done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
