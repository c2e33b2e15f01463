# The two commands of the README: `make demo` and `make test`. Both set up .venv from scratch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/backprop train

test: $(STAMP)
	$(BIN)/ruff check backprop tests benchmarks
	$(BIN)/python -m pytest -n 2 tests backprop

lint: $(STAMP)
	$(BIN)/ruff check backprop tests benchmarks
	$(BIN)/ruff format --check backprop tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python -m benchmarks.run --write docs/performance.md

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
