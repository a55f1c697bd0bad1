"""gunicorn settings for `make stack` and production (`gunicorn -c config/gunicorn.conf.py
config.wsgi`). gunicorn's own defaults are one sync worker, a 30 s timeout and workers never
recycled (ecosystem-notes §10(d)); each is set here from the environment."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# Sync workers: 2 per core + 1 by default. Each holds one PostgreSQL connection (CONN_MAX_AGE),
# so web hosts x workers + worker processes must stay under PostgreSQL's max_connections.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A request longer than this is killed (and logged); staff pages answer in well under a second.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Below honcho's 5 s before SIGKILL, so Ctrl-C on `make stack` lets requests finish cleanly.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "4"))
# Recycle each worker after about a thousand requests (jittered, so not all at once).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "100"))
# Behind a TLS-terminating proxy on the same host; it sets X-Forwarded-Proto.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# The path without its query string: OAuth callbacks carry the authorization code there.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

errorlog = "-"
