# odyssey-workers. `make demo` and `make test` each set up everything they need first.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install system format lint mypy test test-fast run demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@./scripts/ensure-system-packages.sh run
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

system:
	@./scripts/ensure-system-packages.sh test

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

mypy: install
	$(BIN)/mypy

test: install lint
	@./scripts/ensure-system-packages.sh test
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest -x -q -m "not slow" $(PYTEST_ARGS)

run: install
	$(BIN)/odyssey-workers run

demo: install
	$(BIN)/python -m odyssey_workers.demo

bench: install
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
