# The two set-up commands: `make demo` and `make test`. Each does all of its own set-up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export VIGIL_DATA_DIR ?= $(CURDIR)/var
PORT ?= 8000

.PHONY: demo test install install-dev lint typecheck test-sqlite test-postgres serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

# causalpy is installed for its data only (the Proposition 99 panel the synthetic-control test
# reproduces); --no-deps keeps PyMC out.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps causalpy==0.9.0
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## demo: install, migrate, seed the demo site, serve it on http://127.0.0.1:$(PORT) with
## simulated monitors (an overdose within a minute or two)
demo: install
	$(BIN)/vigil migrate --no-input -v 0
	$(BIN)/vigil seed-demo
	PORT=$(PORT) ./scripts/demo.sh

## test: lint, type checks, then the suite on SQLite and on a throw-away PostgreSQL server
## side by side (one leg per core; each leg's output is printed whole when it ends)
test: install-dev
	./scripts/system-deps.sh
	$(MAKE) lint typecheck
	$(MAKE) -j2 --output-sync=target test-sqlite test-postgres

lint:
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck:
	$(BIN)/mypy src

# Each leg has a data dir of its own, so the two can run at once.
test-sqlite:
	VIGIL_DATA_DIR=$(CURDIR)/var/test-sqlite $(BIN)/pytest -q

# pg_virtualenv (postgresql-common) starts a private cluster and sets PGHOST/PGPORT/PGUSER/
# PGPASSWORD; an empty DATABASE_URL host and user make libpq read them.
test-postgres:
	pg_virtualenv -t -o 'max_connections=200' sh -c 'DATABASE_URL=postgres:///postgres VIGIL_DB_LEG=postgres VIGIL_DATA_DIR=$(CURDIR)/var/test-postgres $(BIN)/pytest -q -p no:cacheprovider'

clean:
	rm -rf $(VENV) var
