# The two commands: `make demo` and `make test`. Everything else is a step of theirs
# (`make test-fast` is `make test` without the slow tests, for the edit-test loop).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8050
CUSTOMERS ?= 3000

.PHONY: demo test test-fast venv postgis browser lint

demo: venv postgis
	$(VENV)/bin/gcrm demo --customers $(CUSTOMERS) --host $(HOST) --port $(PORT)

test: venv postgis browser
	$(VENV)/bin/pytest -p no:cacheprovider $(PYTEST_ARGS)

# Not the tests marked slow (browser, the session's demo region, the Bay Area pack): no
# browser needed; under a minute.
test-fast: venv postgis
	$(VENV)/bin/pytest -p no:cacheprovider -m "not slow" $(PYTEST_ARGS)

venv: $(STAMP)

# The Bay Area region pack reads the zone data inside activitysim; its own dependencies
# (numba, pytables, ...) are not needed for that, so it is installed without them.

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps "activitysim==1.6.0"
	@touch $(STAMP)

postgis:
	bash scripts/ensure-postgis.sh

browser:
	bash scripts/ensure-browser.sh

# ruff (check and format), the layers contract of pyproject.toml, and mypy on gcrm and dashboard.
lint: venv
	$(VENV)/bin/ruff check gcrm dashboard tests benchmarks
	$(VENV)/bin/ruff format --check gcrm dashboard tests benchmarks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
