# Two set-up commands for a fresh machine with nothing but python3: `make demo`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= demo/scanctl.db
DEMO_CONFIG := demo/config.toml
SCANCTL := $(BIN)/scanctl --db $(DEMO_DB) --config $(DEMO_CONFIG)
LAST_DATE = $(SCANCTL) data status --json | $(BIN)/python -c 'import json,sys; print(json.load(sys.stdin)["last_date"])'

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p demo
	test -f $(DEMO_CONFIG) || echo '# demo configuration: defaults, no notification channel' > $(DEMO_CONFIG)
	$(SCANCTL) data demo
	$(SCANCTL) data status
	$(SCANCTL) scan --version all --date $$($(LAST_DATE))
	$(SCANCTL) show --limit 5
	$(SCANCTL) report --out demo/index.html

# The suite runs on every core (pytest-xdist); each worker builds its session fixtures once.
test: $(STAMP)
	$(BIN)/ruff check scanctl tests
	$(BIN)/python -m pytest -q -n auto

lint: $(STAMP)
	$(BIN)/ruff check scanctl tests
	$(BIN)/ruff format --check scanctl tests

# Regenerate the README's configuration reference from the declared keys.
docs: $(STAMP)
	$(BIN)/python -m scanctl.settings README.md

bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache *.egg-info
