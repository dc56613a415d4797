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
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

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
	$(BIN)/mypy --strict contracts monitor streams alerts

pytest: install up
	$(BIN)/pytest

test: install up
	bash deploy/local/tools.sh
	$(BIN)/ruff check .
	$(BIN)/mypy --strict contracts monitor streams alerts
	$(BIN)/pytest

demo: install up
	bash deploy/local/demo.sh start

# The web pages at desktop and phone widths, from the browser test's walk through them.
screenshots: install up
	bash deploy/local/tools.sh
	LISTWATCH_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/integration/test_web_browser.py

bench: install up
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench

clean: down
	rm -rf .state
