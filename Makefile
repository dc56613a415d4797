# listwatch: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK := deploy/local/stack.sh

.PHONY: help install up down status test lint typecheck pytest demo bench screenshots clean

help:
	@echo "make demo   - install, start Kafka + Redis + all services, replay real list snapshots, show alerts"
	@echo "make test   - install, start Kafka + Redis if needed, ruff, mypy --strict, pytest"
	@echo "make down   - stop the demo services, Kafka and Redis"
	@echo "make up | status | lint | typecheck | pytest | bench | screenshots | clean"

# The virtualenv is rebuilt whenever pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	LISTWATCH_COMPILE=0 $(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# The stream worker's pure modules compiled with mypyc (streams/native.py), again whenever streams/ or
# contracts/ changed (compiled code keeps what it assumed of the types it imports; importing streams removes
# stale ones); LISTWATCH_COMPILE=0 removes them instead (pure Python, no C compiler needed).
NATIVE_SOURCES := setup.py $(shell find streams contracts -name '*.py')
NATIVE_LIB := $(shell $(PYTHON) -c 'import runpy, sysconfig; print(runpy.run_path("streams/native.py")["LIBRARY"] + sysconfig.get_config_var("EXT_SUFFIX"))')
NATIVE := $(if $(filter 0,$(LISTWATCH_COMPILE)),$(BIN)/.native-off,$(NATIVE_LIB))

$(NATIVE_LIB): $(BIN)/.installed $(NATIVE_SOURCES)
	$(BIN)/python -m pip install -q 'setuptools>=69' wheel
	LISTWATCH_COMPILE=1 $(BIN)/python setup.py -q build_ext --inplace --force
	rm -f $(BIN)/.native-off

$(BIN)/.native-off: $(BIN)/.installed
	$(BIN)/python -c 'import pathlib, runpy; [p.unlink() for p in runpy.run_path("streams/native.py")["extensions"](pathlib.Path("."))]'
	touch $@

install: $(BIN)/.installed $(NATIVE)

up: install
	bash $(STACK) up

status:
	-bash deploy/local/demo.sh status
	bash $(STACK) status

down:
	-bash deploy/local/demo.sh stop
	bash $(STACK) down

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy --strict contracts monitor streams alerts bench deploy/local

pytest: install up
	$(BIN)/pytest

test: install up
	bash deploy/local/tools.sh
	$(BIN)/ruff check .
	$(BIN)/mypy --strict contracts monitor streams alerts bench deploy/local
	$(BIN)/pytest

demo: install up
	bash deploy/local/demo.sh start

# The web pages at desktop and phone widths, from the browser test's walk through them.
screenshots: install up
	bash deploy/local/tools.sh
	LISTWATCH_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/integration/test_web_browser.py

bench: install up
	LISTWATCH_COMPILE=0 $(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench

clean: down
	rm -rf .state
