# gentune: `make demo` tunes CTGAN on ACTG 320; `make test` runs the test suite.
# Both create the environment from nothing the first time (scripts/setup-env).

PYTHON ?= python3.11
VENV ?= .venv
# Test processes (pytest-xdist). Most tests wait on worker processes of their own, so two
# pytest processes keep two cores busy; whole files go to one process, as the PostgreSQL
# tests share one database and a file's fixtures are built once.
TEST_WORKERS ?= 2
# The slowest tests are listed after each run: the suite's budget is 10 minutes on 2 cores.
PYTEST = $(VENV)/bin/python -m pytest -q -ra -n $(TEST_WORKERS) --dist loadfile --durations=15
export PYTHON

.PHONY: env synthcity-env browser demo test test-fast clean

env:
	@scripts/setup-env

browser:
	@scripts/setup-browser

synthcity-env: env
	@scripts/setup-synthcity-env

demo: env
	$(VENV)/bin/gentune tune --dataset actg320 --generator ctgan --trials 30 --timeout 420 \
		--out runs/demo

test: env synthcity-env browser
	$(PYTEST)

test-fast: env
	$(PYTEST) -m "not slow and not synthcity"

clean:
	rm -rf runs .pytest_cache
