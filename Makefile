# The two commands: `make demo` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8050
CUSTOMERS ?= 3000

.PHONY: demo test venv postgis browser lint clean-db

demo: venv postgis
	$(VENV)/bin/gcrm demo --customers $(CUSTOMERS) --host $(HOST) --port $(PORT)

test: venv postgis browser
	$(VENV)/bin/pytest -p no:cacheprovider $(PYTEST_ARGS)

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

lint: venv
	$(VENV)/bin/ruff check gcrm dashboard tests benchmarks
	$(VENV)/bin/ruff format --check gcrm dashboard tests benchmarks
