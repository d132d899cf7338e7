# Two commands on a fresh machine: `make run` (or `make demo`) and `make test`.
# Each creates .venv and installs what it needs the first time.
# Another port: `make demo PORT=3100` (or PORT in the environment; `make run` reads it too).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint format migrate bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/whatconverts-slack serve $(if $(PORT),--port $(PORT))

demo: $(STAMP)
	$(BIN)/whatconverts-slack demo $(if $(PORT),--port $(PORT))

migrate: $(STAMP)
	$(BIN)/whatconverts-slack migrate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
