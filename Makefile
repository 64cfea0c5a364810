# segbench: `make run` runs the nightly DAG once through Airflow; `make test` runs the tests.
# Both build the virtual environment first, so a fresh clone needs nothing else.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_CONF ?= {}
# `make run` trains the demo model on first use (segbench train-demo, a few minutes on the
# CPU) and reuses it afterwards; TRAIN=0 keeps the seeded random weights instead.
TRAIN ?= 1

# `airflow standalone` starts its components as `airflow ...` from PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SEGBENCH_HOME := $(CURDIR)
export AIRFLOW_HOME := $(CURDIR)/var/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: install run test test-fast lint airflow-init inputs-and-weights standalone clean chromium

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# Airflow's own metadata DB (SQLite under var/airflow) and the pools that keep devices exclusive.
airflow-init: install
	@mkdir -p var
	$(BIN)/airflow db migrate > var/airflow-db-migrate.log 2>&1 || (cat var/airflow-db-migrate.log; exit 1)
	$(BIN)/airflow pools set cpu_bench 1 "one CPU benchmark at a time per host" > /dev/null
	$(BIN)/airflow pools set gpu_bench 1 "one benchmark per GPU" > /dev/null

inputs-and-weights: install
	$(BIN)/segbench data
ifeq ($(TRAIN),0)
	$(BIN)/segbench weights
else
	$(BIN)/segbench train-demo
endif
	$(BIN)/segbench db upgrade

run: airflow-init inputs-and-weights
	@echo "running DAG segbench_nightly through Airflow (log: var/last-dag-test.log) ..."
	@$(BIN)/airflow dags test segbench_nightly -c '$(RUN_CONF)' > var/last-dag-test.log 2>&1 \
		|| (tail -n 60 var/last-dag-test.log; echo "the DAG run failed: see var/last-dag-test.log"; exit 1)
	@$(BIN)/segbench report
	@$(BIN)/segbench report --format html
	@$(BIN)/segbench db current

# The browser tests (pytest -m browser) drive Debian's Chromium through Playwright, which
# never downloads a browser: install the distribution's package when it is missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get install -y chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

chromium: $(CHROMIUM)

# Two pytest-xdist workers (one per core of the 2-core CI VM); tests that share a costly
# session resource or must not overlap stay together on one worker (tests/xdist_groups.py).
# The 25 slowest tests are listed at the end, to see where the time goes.
TEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadgroup --durations=25

test: install $(CHROMIUM)
	$(BIN)/pytest $(PYTEST_PARALLEL)

test-fast: install
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not slow"

lint: install
	$(BIN)/ruff check segtasks dags tests benchmarks
	$(BIN)/mypy

# The Airflow UI with this project's DAG: http://localhost:8080 (password in var/airflow).
standalone: airflow-init inputs-and-weights
	$(BIN)/airflow standalone

clean:
	rm -rf var
