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

# Each step of `make run` goes through segtasks.follow (standard library only, so the system's
# Python runs it before the venv exists): the whole output in a log under var/, the lines that
# matter on screen, and "... still <step>" whenever 15 s pass without a line.
FOLLOW := $(PYTHON) -m segtasks.follow

# uv installs the packages, as it builds the recorded environments (segtasks.envs): one cache
# serves them all, so another environment with the same torch costs seconds and no download.
# uv reads none of pip's configuration: `python -m segtasks.envs.uv` (standard library only,
# so it runs before the dependencies exist) hands it the indexes, find-links and constraints
# pip is configured with. The import check fails the install where torch cannot load. The
# optional runtimes (extras onnx, openvino: docs/runtimes.md) are installed too, so that
# `make test` covers their cases.
$(VENV)/.installed: pyproject.toml
	@mkdir -p var
	@$(FOLLOW) --what "installing segbench and its dependencies into $(VENV) with uv (torch is large)" \
		--log var/install.log --show '^(Installed|Successfully installed|error|ERROR)' -- sh -c \
		'$(PYTHON) -m venv $(VENV) && $(BIN)/pip install --progress-bar off uv \
		&& $(BIN)/python -m segtasks.envs.uv pip install --python $(BIN)/python -e ".[dev,onnx,openvino]" \
		&& $(BIN)/python -c "import torch, torchvision, segmentation_models_pytorch"'
	@touch $@

install: $(VENV)/.installed

# Airflow's own metadata DB (SQLite under var/airflow) and the pools that keep devices exclusive.
airflow-init: install
	@mkdir -p var
	@$(FOLLOW) --what "preparing Airflow's database and pools in var/airflow" \
		--log var/airflow-init.log -- sh -c '$(BIN)/airflow db migrate \
		&& $(BIN)/airflow pools set cpu_bench 1 "one CPU benchmark at a time per host" \
		&& $(BIN)/airflow pools set gpu_bench 1 "one benchmark per GPU"'

# train-demo prints a line every 15 s itself: there, the follower's heartbeat is the fallback.
inputs-and-weights: install
	@$(FOLLOW) --what "writing the synthetic inputs" -- $(BIN)/segbench data
ifeq ($(TRAIN),0)
	@$(FOLLOW) --what "writing the seeded weights" -- $(BIN)/segbench weights
else
	@$(FOLLOW) --what "training the demo model (minutes on the CPU, once)" --every 20 -- \
		$(BIN)/segbench train-demo
endif
	@$(FOLLOW) --what "migrating the results database" -- $(BIN)/segbench db upgrade

# One line per task as it finishes (task, case, state, seconds); a failed run shows the log's
# tail and fails `make run`.
run: airflow-init inputs-and-weights
	@$(FOLLOW) --what "running the DAG segbench_nightly through Airflow" \
		--log var/last-dag-test.log --airflow-tasks --tail 60 -- \
		$(BIN)/airflow dags test segbench_nightly -c '$(RUN_CONF)'
	@$(FOLLOW) --what "the night's results" -- sh -c '$(BIN)/segbench report \
		&& $(BIN)/segbench report --format html && $(BIN)/segbench db current'

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
