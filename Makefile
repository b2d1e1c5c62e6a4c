# loopml developer entry points. Every target creates or refreshes .venv idempotently.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint format bench-setup bench bench-serving bench-drift-setup bench-drift clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) -m loopml.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

test: lint
	$(PY) -m pytest -q

# Peers (MLflow) live in their own venv so they never leak into loopml's.
bench-setup: $(STAMP)
	@test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --upgrade pip
	.venv-bench/bin/python -m pip install --quiet 'mlflow>=3,<4'

bench: bench-setup
	$(PY) benchmarks/tracking.py

bench-serving: bench-setup
	$(PY) benchmarks/serving.py

# Evidently 0.7 pins its own dependency versions: it gets a venv of its own.
bench-drift-setup: $(STAMP)
	@test -x .venv-evidently/bin/python || $(PYTHON) -m venv .venv-evidently
	.venv-evidently/bin/python -m pip install --quiet --upgrade pip
	.venv-evidently/bin/python -m pip install --quiet 'evidently>=0.7,<0.8' 'pandas<3'  # 0.7 does not import under pandas 3

bench-drift: bench-drift-setup
	$(PY) benchmarks/drift.py

clean:
	rm -rf $(VENV) .venv-bench .venv-evidently .loopml build src/*.egg-info
