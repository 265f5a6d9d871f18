# gaitrig: `make run` starts the server with the virtual rig; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Any HOST but this machine's own exposes the rig to the network: say so explicitly (it warns).
NETWORK_FLAG = $(if $(filter-out 127.0.0.1 localhost ::1,$(HOST)),--allow-network)
# Demo mode (an account `demo` with a printed password) on this machine only; on a network
# host, create accounts with `rig user add` first (docs/security.md).
DEMO_FLAG = $(if $(NETWORK_FLAG),,--demo)

.PHONY: run test lint bench firmware install install-dev system-deps clean

run: $(VENV)/.installed
	$(VENV)/bin/rig serve --simulate --host $(HOST) --port $(PORT) $(NETWORK_FLAG) $(DEMO_FLAG)

test: $(VENV)/.installed-dev system-deps
	tools/with-postgres.sh $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(VENV)/.installed-dev
	$(PY) -m benchmarks

firmware:
	$(MAKE) -C firmware

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Tools the tests need from Debian (Chromium, the AVR toolchain, simavr): installed when we are
# root or have sudo; otherwise the tests that need them say how to install them (under CI=true
# a package still missing fails `make test` here).
system-deps:
	@tools/install-system-deps.sh

$(VENV)/bin/python:
	@tools/make-venv.sh $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) build *.egg-info test-artifacts firmware/build
