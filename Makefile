# SMS Desk: `make run` serves the demo, `make test` runs the suite, `make bench` prints figures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?= -n 2
# Links in the demo's reply emails point where `make run` serves (a PUBLIC_BASE_URL set wins);
# an all-interfaces HOST is reached on 127.0.0.1 from this machine.
LINK_HOST = $(if $(filter-out 0.0.0.0 :: localhost,$(HOST)),$(BRACKETED_HOST),127.0.0.1)
BRACKETED_HOST = $(if $(findstring :,$(HOST)),[$(HOST)],$(HOST))
DEMO = DEMO_MODE=1 PORT=$(PORT) PUBLIC_BASE_URL="$${PUBLIC_BASE_URL:-http://$(LINK_HOST):$(PORT)}"

.PHONY: run test lint format bench e2e-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.dev-deps: $(VENV)/.deps
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

run: $(VENV)/.deps
	$(DEMO) $(BIN)/flask --app wsgi db-upgrade
	$(DEMO) $(BIN)/flask --app wsgi seed-demo --if-empty
	@echo ""
	@echo "SMS Desk is at http://$(LINK_HOST):$(PORT)/  (sandbox gateway; Ctrl+C stops it)"
	$(DEMO) $(BIN)/waitress-serve --host=$(HOST) --port=$(PORT) --threads=8 \
		--no-clear-untrusted-proxy-headers wsgi:app

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.dev-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .hypothesis bench/.cache
