# Two set-up commands for a fresh machine with nothing but python3: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= demo/scanctl.db
SCANCTL := $(BIN)/scanctl --db $(DEMO_DB)

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p demo
	$(SCANCTL) data demo
	$(SCANCTL) data status

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check scanctl tests
	$(BIN)/ruff format --check scanctl tests

bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache *.egg-info
