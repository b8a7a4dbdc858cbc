# SMS Desk: `make run` serves the demo, `make test` runs the suite, `make bench` prints figures.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?= -n 2

.PHONY: run test bench e2e-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.dev-deps: $(VENV)/.deps
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

run: $(VENV)/.deps
	DEMO_MODE=1 $(BIN)/flask --app wsgi db-upgrade
	DEMO_MODE=1 $(BIN)/flask --app wsgi seed-demo --if-empty
	@echo ""
	@echo "SMS Desk is at http://$(HOST):$(PORT)/  (sandbox gateway; Ctrl+C stops it)"
	DEMO_MODE=1 $(BIN)/waitress-serve --host=$(HOST) --port=$(PORT) --threads=8 wsgi:app

test: $(VENV)/.dev-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.dev-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .hypothesis bench/.cache
