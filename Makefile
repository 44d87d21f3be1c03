# Two commands a newcomer needs: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt clean
.PHONY: bench bench-compare

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python examples/quickstart/run.py

test: $(STAMP)
	$(BIN)/ruff check src tests examples
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests examples

fmt: $(STAMP)
	$(BIN)/ruff format src tests examples
	$(BIN)/ruff check --fix src tests examples

# Benchmarks (bench/run.py): Trellis alone, or side by side with Dagster, which lives only in
# bench/.venv-dagster (created by the runner on first use).
bench: $(STAMP)
	$(BIN)/python bench/run.py --trellis-only

bench-compare: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .trellis .pytest_cache
