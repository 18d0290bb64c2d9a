# Lodestar: the two set-up commands are `make demo` (install everything, run the main job on the
# bundled demo company) and `make test` (install everything, run the test suite).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= 1

# Project-local state and no telemetry from any tool, for every target.
export DAGSTER_HOME := $(CURDIR)/.dagster
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export RUNTIME__DLTHUB_TELEMETRY := false
export MLFLOW_DISABLE_TELEMETRY := true
export DBT_PROFILES_DIR := $(CURDIR)/dbt_project
export PATH := $(CURDIR)/$(BIN):$(PATH)

# dbt's manifest, prepared by dagster-dbt (`dbt parse`) whenever a dbt project file changes: loading the code
# location never runs dbt.
MANIFEST := dbt_project/target/manifest.json
# The SQL linter (dbt_project/.sqlfluff: sqlfluff's jinja templater with dbt builtins and the project's macros; no
# warehouse, no dbt parse) over every model and data test; part of `lint` and `test`.
LINT_SQL := cd dbt_project && ../$(BIN)/sqlfluff lint models tests --processes 2
DBT_FILES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print)

.PHONY: install system demo test test-spark lint lint-sql dagster-ui mlflow-ui dbt-docs cockpit bench clean prod-up prod-down

install: system $(VENV)/.installed $(MANIFEST)

system:
	@bash scripts/install_system.sh

# Reinstalled whenever the pins change; constraints.txt fixes the whole tree CI tested.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,dlt,pretrain,production,spark]'
	touch $@

$(MANIFEST): $(VENV)/.installed $(DBT_FILES)
	$(BIN)/dagster-dbt project prepare-and-package --file orchestration/lib/dbt.py
	touch $@

demo: install
	$(BIN)/lodestar demo --scale $(SCALE)

test: install
	$(BIN)/ruff check .
	$(LINT_SQL)
	$(BIN)/python -m pytest -q -n 2 --dist loadscope --durations=15 tests

# dbt on Spark against DuckDB, mart by mart (issue 15), alone: part of `test` too (about 8 min of it).
test-spark: install
	$(BIN)/python -m pytest -q -p no:xdist --durations=5 -m spark tests/dbt/test_spark_parity.py

lint: install
	$(BIN)/ruff check .
	$(LINT_SQL)

lint-sql: install
	$(LINT_SQL)

dagster-ui: install
	$(BIN)/lodestar dagster-ui --port 3000

mlflow-ui: install
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(BIN)/lodestar mlflow-ui

dbt-docs: install
	$(BIN)/lodestar dbt-docs

cockpit: install
	$(BIN)/lodestar cockpit --port 8600

# Optional production profile (README "Production profile"): PostgreSQL, Dagster daemon + webserver and an
# MLflow server on this machine; LODESTAR_PG_PASSWORD must be set. prod-down stops it, keeping its data.
prod-up: install
	bash scripts/prod_up.sh

prod-down:
	bash scripts/prod_down.sh

bench: install
	$(BIN)/python -m bench.run_all

clean:
	rm -rf .lodestar .dagster/storage .dagster/history .dagster/schedules .dagster/logs dbt_project/target
