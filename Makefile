# The two front doors: `make demo` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# No telemetry from anything we run.
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false

.PHONY: venv demo test lint format bench eval docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# prophet's wheel ships its compiled Stan model: never build it from source
	$(BIN)/python -m pip install --quiet --only-binary prophet,cmdstanpy -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The demo keeps its Prefect runs beside its data, so it leaves nothing outside the checkout.
demo: export PREFECT_HOME := $(CURDIR)/.logcast/prefect
demo: venv
	mkdir -p "$(PREFECT_HOME)"
	$(BIN)/logcast demo

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv
	$(BIN)/python -m bench

# incident-level recall, precision, F1 and detection delay on 28 labelled synthetic days
eval: venv
	$(BIN)/python -m bench.evaluate

docs: venv
	$(BIN)/python -m schemas.catalog > docs/tables.md

clean:
	rm -rf $(VENV) .logcast .pytest_cache .ruff_cache
