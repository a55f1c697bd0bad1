# Syncdesk: `make demo` to run it, `make test` to test it. The virtualenv lives in .venv.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install demo test lint bench format clean stack chaos load

install: $(STAMP)

# Re-installs only when the lock file changes; the stamp records that it ran.
$(STAMP): requirements.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

# The demo: worker and web server in the background, the banner once the server answers, and
# Ctrl-C (or TERM) stopping both within 5 s: TERM to each, then KILL to what is left (the worker
# runs in its own process group, so its pool goes with it and Ctrl-C reaches it only through us).
# E-mails the demo sends are written to var/mail/ (one file each), not to the console.
demo: install
	@export MFA_REQUIRED_FOR_ADMINS=$${MFA_REQUIRED_FOR_ADMINS:-False} SANDBOX_ENABLED=True \
	  SANDBOX_BASE_URL=$${SANDBOX_BASE_URL:-http://$(HOST):$(PORT)/sandbox} \
	  EMAIL_URL=$${EMAIL_URL:-filemail://$(CURDIR)/var/mail}; \
	set -e; \
	mkdir -p var/mail; \
	$(PY) manage.py migrate --noinput; \
	Q_LOG_LEVEL=WARNING $(PY) manage.py demo_setup; \
	setsid $(PY) manage.py qcluster >var/demo-worker.log 2>&1 & worker=$$!; \
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload & web=$$!; \
	stop() { trap - INT TERM EXIT; kill -TERM $$web $$worker 2>/dev/null || true; \
	  for _ in 1 2 3 4 5 6 7 8 9; do kill -0 $$web 2>/dev/null || kill -0 $$worker 2>/dev/null || break; sleep 0.5; done; \
	  kill -KILL $$web 2>/dev/null || true; kill -KILL -- -$$worker 2>/dev/null || true; \
	  wait 2>/dev/null || true; echo "Syncdesk stopped."; }; \
	trap 'stop; exit 0' INT TERM; trap stop EXIT; \
	for _ in $$(seq 1 120); do curl -fsS -o /dev/null http://$(HOST):$(PORT)/healthz 2>/dev/null && break; sleep 0.5; done; \
	echo ""; \
	echo "Syncdesk is running on http://$(HOST):$(PORT)/  (Ctrl-C stops the web server and the worker)"; \
	echo "Sandbox (the emulated Zoho and Xero): http://$(HOST):$(PORT)/sandbox/"; \
	echo "Logins (password for all: syncdesk-demo):"; \
	echo "  Admin  admin@syncdesk.test"; \
	echo "  Agent  agent@syncdesk.test"; \
	echo "  Agent  agent2@syncdesk.test"; \
	echo "E-mails the demo sends: var/mail/ (one file each); the worker's log: var/demo-worker.log"; \
	if [ "$$MFA_REQUIRED_FOR_ADMINS" = "False" ]; then \
	  echo "Note: MFA for admins is switched OFF for this demo (MFA_REQUIRED_FOR_ADMINS=False)."; \
	fi; \
	wait $$web

# The production shape on one machine: gunicorn (WEB_CONCURRENCY workers) and WORKERS qcluster
# processes under honcho, on the PostgreSQL and Redis named by DATABASE_URL and REDIS_URL, with
# config.settings.production (SECRET_KEY, ALLOWED_HOSTS, TOKEN_ENCRYPTION_KEYS, EMAIL_URL are
# required; README "Running past one machine"). Ctrl-C: honcho TERMs each, KILLs after 5 s.
WORKERS ?= 2
stack: install
	@test -n "$$DATABASE_URL" || { echo "make stack needs DATABASE_URL (PostgreSQL) and REDIS_URL"; exit 2; }
	@export DJANGO_SETTINGS_MODULE=config.settings.production; set -e; \
	$(PY) manage.py migrate --noinput; \
	$(PY) manage.py collectstatic --noinput >/dev/null; \
	$(PY) manage.py schedules_apply; \
	exec $(VENV)/bin/honcho start -f Procfile -p $(PORT) -c web=1,worker=$(WORKERS)

# Not part of `make test` (tests/chaos/test_chaos_ci.py is its CI size): 10,000 changes, 3
# workers killed with SIGKILL every few seconds, against the faulty sandbox; prints one JSON line.
# DATABASE_URL names the PostgreSQL server (its own two databases are made and dropped).
CHAOS_ARGS ?=
chaos: install
	$(PY) -m tests.chaos.run --changes 10000 --workers 3 $(CHAOS_ARGS)

# Load benchmark (not a test): locust in its own virtualenv (it monkey-patches with gevent)
# against a running `make stack`, from the same environment (DATABASE_URL etc.): 50 staff for
# 5 minutes (tests/load/locustfile.py); prepare.py first adds the agents, sessions and tokens.
LOAD_VENV := .venv-load
LOAD_HOST ?= http://$(HOST):$(PORT)
LOAD_USERS ?= 50
LOAD_TIME ?= 5m
$(LOAD_VENV)/.installed-stamp: requirements-load.txt
	@test -x $(LOAD_VENV)/bin/python || python3 -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-load.txt
	@touch $@
load: install $(LOAD_VENV)/.installed-stamp
	@mkdir -p var/load
	Q_LOG_LEVEL=WARNING DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.production} \
	  $(PY) -m tests.load.prepare var/load/users.json $(LOAD_USERS)
	LOAD_DATA=var/load/users.json $(LOAD_VENV)/bin/locust -f tests/load/locustfile.py --headless \
	  -u $(LOAD_USERS) -r 5 -t $(LOAD_TIME) --host $(LOAD_HOST) --only-summary --csv var/load/run

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
