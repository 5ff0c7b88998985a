# The two front doors: `make demo` and `make test`. Both create .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# No telemetry from anything we run.
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false

.PHONY: venv browser demo test test-clock test-fast lint format bench eval eval-formats eval-logs eval-templates docs screenshot clean

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

# The report tests and `make screenshot` open pages in Debian's headless Chromium.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
	    { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium; }; \
	  else echo "Chromium is needed: install Debian's chromium package (apt-get install chromium)"; exit 1; fi; }

# Everything: lint, then every test with the `ci` hypothesis profile, in one process per core
# (pytest-xdist; a test module stays in one process, so its fixtures start once); the 15
# slowest last; then the tests where the wall clock could leak in, again with the clock a year
# ahead and a year back (time-machine), the two runs at once, one process each (their output
# is shown whole if either fails; `make test-clock` runs just them): nothing may depend on
# today's date. (xdist needs every worker to collect the same test ids: parametrize values
# must not depend on the clock.)
PYTEST_PARALLEL ?= -n auto --dist loadfile --no-loadscope-reorder
CLOCK_TESTS = $(BIN)/python -m pytest -q -m clock --hypothesis-profile=fast
test: venv browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) --hypothesis-profile=ci --durations=15
	@$(MAKE) --no-print-directory test-clock

test-clock: venv
	@logs=$$(mktemp -d); \
	$(CLOCK_TESTS) --clock-shift-days=365 > $$logs/ahead.log 2>&1 & ahead=$$!; \
	$(CLOCK_TESTS) --clock-shift-days=-365 > $$logs/back.log 2>&1; back=$$?; \
	wait $$ahead; ahead=$$?; \
	echo "clock a year ahead: $$(tail -n 1 $$logs/ahead.log)"; \
	echo "clock a year back: $$(tail -n 1 $$logs/back.log)"; \
	if [ $$ahead -ne 0 ] || [ $$back -ne 0 ]; then cat $$logs/ahead.log $$logs/back.log; exit 1; fi

# The fast lane (under two minutes): no Prefect server, no subprocess, no Prophet fit on more
# than a few days, and a tenth of the property tests' examples, in one process per core.
test-fast: venv
	$(BIN)/python -m pytest -n auto -m "not e2e and not slow and not flows" --hypothesis-profile=fast

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv
	$(BIN)/python -m bench

# logcast's detector side by side with three references (a daily-refitted Prophet, a 7-day
# z-score, one that never fires) on 28 labelled synthetic days and on the real labelled KPIs in
# $LOGCAST_EVAL_DIR/realkpi (default ../shared/eval): per dataset one table of window scores
# (standard, low_fp, low_fn), best F1, false alarms per series-week and seconds per 10,000
# points, a per-series breakdown, and the synthetic incident-level recall and precision.
# `python -m bench.evaluate --quick` scores a fixed subset in under 3 minutes.
eval: venv
	$(BIN)/python -m bench.evaluate

# $LOGCAST_EVAL_DIR/logformats (default ../shared/eval): every access-log fixture read as
# `logcast ingest` reads it, compared field by field with the peer's parse beside it.
eval-formats: venv
	$(BIN)/python -m bench.formats

# $LOGCAST_EVAL_DIR/loghub (default ../shared/eval): the pipeline's template miner on the
# LogPAI loghub 2k samples, Grouping Accuracy per system beside Drain's published figure.
eval-templates: venv
	$(BIN)/python -m bench.templates

# $LOGCAST_EVAL_DIR/loghub (default ../shared/eval): the 16 loghub 2k samples read as `logcast
# ingest` reads them; timestamp, level and service per line against loghub's ground truth
eval-logs: venv
	$(BIN)/python -m bench.logs

docs: venv
	$(BIN)/python -m schemas.catalog > docs/tables.md

# docs/report.png: the newest daily report as Chromium renders it; docs/dashboard.png: the
# dashboard served over the same warehouse, the newest incident selected (runs the demo when
# there is no data yet)
screenshot: export PREFECT_HOME := $(CURDIR)/.logcast/prefect
screenshot: venv browser
	mkdir -p "$(PREFECT_HOME)"
	test -d .logcast/warehouse/endpoint_daily || $(MAKE) demo
	$(BIN)/logcast report --screenshot docs/report.png
	$(BIN)/logcast dashboard --screenshot docs/dashboard.png

clean:
	rm -rf $(VENV) .logcast .pytest_cache .ruff_cache
