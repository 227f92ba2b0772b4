# The two commands the README promises:
#   make demo   -> the console on the built-in simulated cluster
#   make test   -> the whole test suite (installs what it needs first; .ci/run calls it)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := $(sort $(shell cat .ci/apt-packages.txt.base .ci/apt-packages.txt 2>/dev/null))

.PHONY: setup venv apt demo test test-fast lint bench clean-lab

venv: $(BIN)/.installed
$(BIN)/.installed: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

apt:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi; \
	  command -v kubectl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client; \
	fi

setup: apt venv

demo: venv
	$(BIN)/dcops --demo tui

# ruff (lint rules and formatting), mypy (types) and import-linter (the floors): configured in pyproject.toml
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/pytest -p no:cacheprovider

test-fast: venv
	$(BIN)/pytest tests/unit -q

clean-lab:
	-$(BIN)/python -m tests.lab stop
