# ReturnDesk developer tasks. `make help` lists them.
# `make setup` may install Debian packages: run it as root (or with sudo available).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.stamp
CONSTRAINTS := requirements/constraints.txt
CODE_DIRS   := src tests bench
LOCALE_DIR  := src/returndesk/locale
PO_FILES    := $(wildcard $(LOCALE_DIR)/*/LC_MESSAGES/messages.po)
MO_FILES    := $(PO_FILES:.po=.mo)
JUNIT       := var/test-results.xml
APT_PACKAGES := postgresql redis-server coturn ffmpeg tesseract-ocr chromium fonts-wqy-microhei fonts-dejavu-core zbar-tools poppler-utils

HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup system-packages venv messages messages-update lint test demo bench clean format

help:
	@echo "make setup   install system packages (as root), .venv, compile translations"
	@echo "make demo    migrate, seed demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test    lint + pytest (CI=true: skipped tests fail the run)"
	@echo "make lint    ruff check, ruff format --check, mypy"
	@echo "make messages-update  re-extract texts into the catalogue and merge every language"
	@echo "make format  ruff format + ruff check --fix"
	@echo "make bench   run the benchmarks in bench/"
	@echo "make clean   remove var/ and caches (keeps .venv)"

setup: system-packages venv messages

# Debian packages, installed only when missing; apt-get update only if something is missing.
system-packages:
	@missing=""; \
	if ! command -v dpkg >/dev/null; then \
	  echo "setup: no dpkg here; install by hand: $(APT_PACKAGES) python3-venv" >&2; exit 0; \
	fi; \
	for pkg in $(APT_PACKAGES); do \
	  status="$$(dpkg -s "$$pkg" 2>/dev/null || true)"; \
	  grep -qx 'Status: install ok installed' <<<"$$status" || missing="$$missing $$pkg"; \
	done; \
	if [ ! -f $(VENV)/pyvenv.cfg ] && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then \
	  missing="$$missing python3-venv"; \
	fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null; then sudo="sudo"; \
	else echo "setup: missing Debian packages:$$missing; run 'make setup' as root" >&2; exit 1; \
	fi; \
	echo "setup: installing$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing

venv: $(STAMP)

$(VENV)/pyvenv.cfg:
	python3 -m venv $(VENV) || { rm -rf $(VENV); echo "python3 -m venv failed: run 'make setup' as root" >&2; exit 1; }

# Reinstall only when the dependency declarations change.
$(STAMP): pyproject.toml $(CONSTRAINTS) $(VENV)/pyvenv.cfg
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev]' -c $(CONSTRAINTS)
	touch $@

# Compile translations (only when a .po is newer than its .mo; nothing to do without .po files).
ifneq ($(strip $(PO_FILES)),)
messages: $(MO_FILES)
$(MO_FILES) &: $(PO_FILES) | $(STAMP)
	$(VENV)/bin/pybabel compile -d $(LOCALE_DIR) -D messages
else
messages:
	@:
endif

# After adding or changing texts: re-extract the catalogue and merge it into every language.
messages-update: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k _ --no-location --sort-output \
	  --project ReturnDesk --copyright-holder "ReturnDesk contributors" \
	  -o $(LOCALE_DIR)/messages.pot src
	$(VENV)/bin/pybabel update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -D messages \
	  --no-fuzzy-matching --ignore-obsolete

lint: $(STAMP)
	$(VENV)/bin/ruff check $(CODE_DIRS)
	$(VENV)/bin/ruff format --check $(CODE_DIRS)
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format $(CODE_DIRS)
	$(VENV)/bin/ruff check --fix $(CODE_DIRS)

# Pytest's own exit code (1 failures, 5 no tests collected, ...) stops make with an error.
# Under CI=true the JUnit report is checked too: any skipped (or xfailed) test fails the run.
test: setup lint
	@mkdir -p var
	rm -f $(JUNIT)
	$(VENV)/bin/pytest -p no:cacheprovider -ra --junitxml=$(JUNIT) $(PYTEST_ARGS)
	@case "$${CI:-}" in \
	  true|True|TRUE|1) $(PY) scripts/check_no_skips.py $(JUNIT) ;; \
	esac

demo: export RETURNDESK_DEMO := 1
demo: export RETURNDESK_HOME := $(CURDIR)/var
demo: setup
	@mkdir -p var
	$(VENV)/bin/returndesk migrate
	$(VENV)/bin/returndesk seed-demo
	exec $(VENV)/bin/returndesk serve --host $(HOST) --port $(PORT)

bench: setup
	$(PY) bench/bench_cases.py
	$(PY) bench/bench_decisions.py
	$(PY) bench/bench_simulation.py
	$(PY) bench/bench_webhooks.py
	$(PY) bench/bench_live.py
	$(PY) bench/bench_evidence.py
	$(PY) bench/bench_teams.py
	$(PY) bench/bench_logistics.py
	@if [ -d ../shared/data ]; then $(PY) bench/bench_assistant.py; \
	else echo "bench_assistant: needs the shared intent data in ../shared/data"; fi

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache .hypothesis build
	find $(CODE_DIRS) scripts -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
