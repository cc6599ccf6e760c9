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

## test: lint, type checks, the suite on SQLite, then on a throw-away PostgreSQL server
test: install-dev
	./scripts/system-deps.sh
	$(MAKE) lint typecheck test-sqlite test-postgres

lint:
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck:
	$(BIN)/mypy src

test-sqlite:
	$(BIN)/pytest -q

# pg_virtualenv (postgresql-common) starts a private cluster and sets PGHOST/PGPORT/PGUSER/
# PGPASSWORD; an empty DATABASE_URL host and user make libpq read them.
test-postgres:
	pg_virtualenv -t -o 'max_connections=200' sh -c 'DATABASE_URL=postgres:///postgres VIGIL_DB_LEG=postgres $(BIN)/pytest -q'

clean:
	rm -rf $(VENV) var
