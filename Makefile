# The two commands of the README: `make demo` and `make test`. Each sets up .venv from scratch;
# `make demo` installs only what the library needs, `make test` adds the test extra (PyTorch).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE := $(VENV)/.installed-base
TEST := $(VENV)/.installed-test
BENCH := $(VENV)/.installed-bench
# the revision before issue 8 (optimizer updates through SciPy's BLAS): the "before" rows
BENCH_BEFORE ?= c4eb15a

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(BASE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $(BASE)

$(TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,mpi]'
	touch $(TEST)

$(BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[bench]'
	touch $(BENCH)

demo: $(BASE)
	$(BIN)/backprop train

test: $(TEST)
	$(BIN)/ruff check backprop tests benchmarks
	$(BIN)/python -m pytest -n 2 tests backprop

lint: $(TEST)
	$(BIN)/ruff check backprop tests benchmarks
	$(BIN)/ruff format --check backprop tests benchmarks

bench: $(BENCH)
	$(BIN)/python -m benchmarks.run --before $(BENCH_BEFORE) --write docs/performance.md

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
