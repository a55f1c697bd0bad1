# Syncdesk: `make demo` to run it, `make test` to test it. The virtualenv lives in .venv.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install demo test lint bench format clean

install: $(STAMP)

# Re-installs only when the lock file changes; the stamp records that it ran.
$(STAMP): requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

demo: install
	@export MFA_REQUIRED_FOR_ADMINS=$${MFA_REQUIRED_FOR_ADMINS:-False} SANDBOX_ENABLED=True \
	  SANDBOX_BASE_URL=$${SANDBOX_BASE_URL:-http://$(HOST):$(PORT)/sandbox}; \
	set -e; \
	$(PY) manage.py migrate --noinput; \
	$(PY) manage.py demo_setup; \
	echo ""; \
	echo "Syncdesk is running on http://$(HOST):$(PORT)/  (Ctrl-C stops the web server and the worker)"; \
	echo "Sandbox (the emulated Zoho and Xero): http://$(HOST):$(PORT)/sandbox/"; \
	echo "Logins (password for all: syncdesk-demo):"; \
	echo "  Admin  admin@syncdesk.test"; \
	echo "  Agent  agent@syncdesk.test"; \
	echo "  Agent  agent2@syncdesk.test"; \
	if [ "$$MFA_REQUIRED_FOR_ADMINS" = "False" ]; then \
	  echo "Note: MFA for admins is switched OFF for this demo (MFA_REQUIRED_FOR_ADMINS=False)."; \
	fi; \
	trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py qcluster & \
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Benchmarks are files pytest does not collect (bench_*.py); each prints one JSON line. Each runs
# in its own process, so figures such as peak memory belong to that benchmark alone.
bench: install
	@set -e; for bench in tests/benchmarks/bench_*.py; do \
	  $(VENV)/bin/pytest "$$bench" -o python_files='bench_*.py' -q -s -p no:cacheprovider $(PYTEST_ARGS) \
	    | grep '^{"bench"'; test $${PIPESTATUS[0]} -eq 0; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache db.sqlite3*
