# The README's two commands: `make demo` and `make test`. Both work from a fresh clone on
# Debian bookworm; `make test` installs the system packages the integration tests need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Real servers and the firmware toolchain the integration tests run (see tests/servers.py).
APT_PACKAGES := mosquitto mosquitto-clients wrk victoria-metrics influxdb influxdb-client \
	postgresql gcc-avr avr-libc arduino-core-avr simavr libsimavr-dev libsimavr-examples \
	socat systemd nodejs nginx-light

.PHONY: demo test chaos lint format system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

## demo: simulated nodes -> edge agent -> ingest on SQLite for about a minute, then a summary
demo: $(VENV)/.installed
	$(BIN)/python scripts/demo.py

## test: lint, then every test against real servers (installs missing apt packages)
test: $(VENV)/.installed-dev system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

## chaos: the full reliability suite (kill -9, outages, replug, disk full, fuzzing), < 20 min
chaos: $(VENV)/.installed-dev system-deps
	$(BIN)/python scripts/chaos.py

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done; \
		command -v npm >/dev/null || echo npm); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var out firmware/build
