# Two commands a newcomer needs: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt typecheck clean
.PHONY: bench bench-compare

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python examples/quickstart/run.py

LINTED := src tests examples bench

test: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy src/trellis
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

fmt: $(STAMP)
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

# mypy over the package with the settings in pyproject.toml ([tool.mypy]: strict on the public
# API modules); `make test` runs it too.
typecheck: $(STAMP)
	$(BIN)/mypy src/trellis

# Benchmarks (bench/run.py): Trellis alone, or side by side with Dagster, which lives only in
# bench/.venv-dagster (created by the runner on first use).
bench: $(STAMP)
	$(BIN)/python bench/run.py --trellis-only
	$(BIN)/python bench/partition_status.py

bench-compare: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .trellis .pytest_cache .mypy_cache
