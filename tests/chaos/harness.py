"""The chaos run: the production stack's workers on PostgreSQL and Redis against a faulty vendor,
with workers killed (SIGKILL) and restarted while a driver makes domain changes; then the vendor's
own records are counted.

Processes (each its own, over real HTTP and real databases):
- the sandbox (emulated Zoho Books) under gunicorn, on its own PostgreSQL database, its clock
  scaled (one vendor minute per `seconds_per_minute` real seconds), faults on: a share of writes
  answered only after the client has given up (the write committed), a share of calls 5xx, and a
  429 storm a third of the way in;
- a private redis-server on a free port;
- N `manage.py qcluster` processes with the production settings (config.settings.production),
  each in its own process group, one group killed with SIGKILL every `kill_every` seconds and
  started again;
- the driver (tests/chaos/driver.py), making the changes through the domain services.

`run(Options(...))` returns the result: the JSON line's fields plus the dead letters. Only
processes this harness started are signalled, by their own process group id; PostgreSQL
backends never are."""

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
FERNET_KEY = "7pua8RzOwtgfLbU-uTbNpKruq4GizGpljlG_MvGCU4Y="  # a throwaway key for the run only
DOCUMENT_TABLES = {
    "quotes": "sandbox_booksestimate",
    "invoices": "sandbox_booksinvoice",
    "payments": "sandbox_bookspayment",
}


@dataclass
class Options:
    changes: int = 10_000
    workers: int = 3
    broker: str = "orm"  # or "redis"
    kill_every: float = 5.0  # seconds between SIGKILLs; 0 = never
    kills: int | None = None  # stop killing after this many (None = while the driver runs)
    first_kill_after: float = 5.0
    seconds_per_minute: float = 1.0  # real seconds per vendor minute
    client_timeout: float = 0.5  # SYNC_HTTP_TIMEOUT, real seconds
    stall_seconds: float = 0.75  # the sandbox answers a picked write this late
    timeout_share: float = 0.2
    error_share: float = 0.05
    storm_vendor_seconds: float = 600.0
    lease_seconds: int = 5
    drain_timeout: float = 1800.0
    stop_at: float | None = None  # wall-clock time (epoch seconds) to stop waiting at the latest
    database_url: str = "postgres://postgres@127.0.0.1:5432/postgres"
    prefix: str = "syncdesk_chaos"
    seed: int = 1
    keep: bool = False
    log: callable = print
    extra_env: dict = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _recreate(url: str, name: str, template: str) -> None:
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _schema_key() -> str:
    """A digest of every migration and of the lock file: the template's schema is current."""
    digest = hashlib.sha256((ROOT / "requirements.lock").read_bytes())
    for path in sorted(ROOT.glob("apps/**/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _migrated_template(url: str, env: dict) -> str:
    """A migrated database to copy (CREATE DATABASE ... TEMPLATE): both of the run's databases
    have the project's schema, and migrating on PostgreSQL takes minutes on a busy machine."""
    name = f"syncdesk_chaos_template_{_schema_key()}"
    partial = f"{name}_{os.getpid()}"  # two runs starting at once each make their own
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as db:
        if db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return name
        db.execute(f'DROP DATABASE IF EXISTS "{partial}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{partial}"')
    done = subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": _with_database(url, partial)},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"migrate failed:\n{done.stderr[-3000:]}")
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as db:
        try:
            db.execute(f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
        except psycopg.errors.DuplicateDatabase:  # the other run finished first
            db.execute(f'DROP DATABASE "{partial}" WITH (FORCE)')
    return name


def _drop(url: str, name: str) -> None:
    with psycopg.connect(_with_database(url, "postgres"), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Chaos:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.dir = Path(tempfile.mkdtemp(prefix="syncdesk-chaos-"))
        self.app_db = f"{options.prefix}_app"
        self.vendor_db = f"{options.prefix}_vendor"
        self.app_url = _with_database(options.database_url, self.app_db)
        self.vendor_url = _with_database(options.database_url, self.vendor_db)
        self.vendor_port = _free_port()
        self.redis_port = _free_port()
        self.procs: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen | None] = [None] * options.workers
        self.kills = 0
        self.restarts = 0
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "ZOHO_", "XERO_", "SYNC_", "Q_", "DJANGO_"))
        }
        sandbox = f"http://127.0.0.1:{self.vendor_port}/sandbox"
        self.vendor_env = {
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DEBUG": "False",
            "DATABASE_URL": self.vendor_url,
            "SANDBOX_ENABLED": "True",
            "SANDBOX_BASE_URL": sandbox,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        # The workers and the driver: production settings, the sandbox standing in for Zoho.
        self.app_env = {
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "chaos-run-secret-key-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TOKEN_ENCRYPTION_KEYS": FERNET_KEY,
            "EMAIL_URL": f"filemail://{self.dir / 'mail'}",
            # The "sent" e-mails without a PDF: rendering is not what this run measures.
            "DOCUMENT_PDF_RENDERER": "",
            "DATABASE_URL": self.app_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "Q_BROKER": options.broker,
            "Q_WORKERS": "1",
            "SANDBOX_ENABLED": "False",
            "ZOHO_ACCOUNTS_URL": f"{sandbox}/zoho/accounts",
            "ZOHO_API_URL": f"{sandbox}/zoho/api",
            "ZOHO_CLIENT_ID": "1000.SANDBOXCLIENT0000000000000000",
            "ZOHO_CLIENT_SECRET": "sandbox-client-secret-0000000000000000000000",
            "SYNC_CLOCK_SCALE": str(options.seconds_per_minute / 60),
            "SYNC_HTTP_TIMEOUT": str(options.client_timeout),
            "SYNC_TOKEN_TIMEOUT": str(max(5.0, options.client_timeout)),
            "SYNC_HTTP_DEADLINE": str(options.client_timeout * 4),
            # Production's backoff (30 s base, 6 h cap): the engine puts it on the scaled clock
            # (SYNC_CLOCK_SCALE), one vendor minute lasting `seconds_per_minute` real seconds.
            # Scaled here too, a first retry waited milliseconds, not half a vendor minute.
            "SYNC_OUTBOX_BACKOFF_BASE": "30",
            "SYNC_OUTBOX_BACKOFF_CAP": str(6 * 3600),
            "SYNC_OUTBOX_LEASE_SECONDS": str(options.lease_seconds),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **options.extra_env,
        }

    # --- processes ------------------------------------------------------------------------
    def _manage(self, env: dict, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def _spawn(self, args: list[str], env: dict, log: str) -> subprocess.Popen:
        out = open(self.dir / log, "ab")  # noqa: SIM115 - the child writes to it until it ends
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        self.procs.append(proc)
        return proc

    def _stop(self, proc: subprocess.Popen | None, grace: float = 5.0) -> None:
        """TERM the process's own group, KILL it after `grace` seconds (honcho's rule)."""
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def start_worker(self, index: int) -> None:
        self.workers[index] = self._spawn(
            [PYTHON, "manage.py", "qcluster"], self.app_env, f"worker-{index}.log"
        )

    def kill_worker(self, index: int) -> None:
        """SIGKILL one worker's whole process group (the cluster and its pool), by its pid."""
        proc = self.workers[index]
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        self.kills += 1

    # --- set-up ---------------------------------------------------------------------------
    def template(self) -> str:
        """The migrated template database both of the run's databases are copied from."""
        return _migrated_template(self.o.database_url, self.vendor_env)

    def setup(self) -> None:
        o = self.o
        (self.dir / "mail").mkdir()
        template = self.template()
        _recreate(o.database_url, self.app_db, template)
        _recreate(o.database_url, self.vendor_db, template)
        self._spawn(
            [
                *("redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            os.environ.copy(),
            "redis.log",
        )
        seeded = self._manage(
            self.vendor_env, "sandbox", "seed", "--contacts", "0", "--items", "0",
            "--documents", "0", "--crm-contacts", "0", "--deals", "0", "--skip-xero",
        )  # fmt: skip
        zoho = json.loads(next(line for line in seeded.splitlines() if line.startswith("{")))
        self.org = zoho["organization_id"]
        self._manage(
            self.vendor_env,
            "shell",
            "-c",
            "from apps.sandbox import clock, faults\n"
            "from apps.sandbox.zoho.models import ZohoOrganization\n"
            f"clock.clock_set(vendor='zoho', account='{self.org}', "
            f"seconds_per_minute={o.seconds_per_minute})\n"
            "ZohoOrganization.objects.update(books_daily_quota=10**8)\n"
            f"faults.fault_plan_set(vendor='zoho', account='{self.org}', "
            f"timeout_share={o.timeout_share}, timeout_seconds={o.stall_seconds}, "
            f"error_share={o.error_share}, error_status=503)\n",
        )
        self.vendor = self._spawn(
            [
                PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{self.vendor_port}",
                "--workers", "2", "--threads", "8", "--worker-class", "gthread",
                "--timeout", "60",
            ],
            self.vendor_env,
            "vendor.log",
        )  # fmt: skip
        self._wait_http(f"http://127.0.0.1:{self.vendor_port}/healthz")
        patient = {**self.app_env, "SYNC_HTTP_TIMEOUT": "30"}  # set-up is not under test
        self._manage(
            patient, "sync", "connect", "zoho", "--refresh-token", zoho["refresh_token"],
            "--organization-id", self.org, "--name", "Books",
        )  # fmt: skip
        # The run's daily quota is not what it tests; the minute sweep is its safety net.
        self._manage(
            self.app_env,
            "shell",
            "-c",
            "from django_q.models import Schedule\n"
            "from apps.sync.models import Connection\n"
            "Connection.objects.update(daily_limit=10**8)\n"
            "Schedule.objects.update_or_create(name='syncdesk:sync.outbox_drain', defaults="
            "dict(func='apps.sync.tasks.outbox_drain_task', schedule_type='I', minutes=1, "
            "repeats=-1))\n",
        )

    def _wait_http(self, url: str, seconds: float = 60) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{url} did not answer")

    def _storm(self) -> None:
        self._manage(
            self.vendor_env, "sandbox", "fault", "zoho", self.org,
            "--storm-seconds", str(self.o.storm_vendor_seconds),
        )  # fmt: skip

    # --- the run --------------------------------------------------------------------------
    def run(self) -> dict:
        o = self.o
        rng = random.Random(o.seed)
        for index in range(o.workers):
            self.start_worker(index)
        self._spawn(
            [PYTHON, "-m", "tests.chaos.sweeper", str(o.seconds_per_minute)],
            self.app_env,
            "sweeper.log",
        )
        started = time.monotonic()
        driver = self._spawn(
            [PYTHON, "-m", "tests.chaos.driver", str(o.changes), str(o.seed)],
            self.app_env,
            "driver.log",
        )
        next_kill = started + o.first_kill_after
        stormed = False
        while driver.poll() is None:
            time.sleep(0.2)
            now = time.monotonic()
            if not stormed and self._driven() >= o.changes // 3:
                self._storm()
                stormed = True
                o.log(f"chaos: 429 storm for {o.storm_vendor_seconds:.0f} vendor seconds")
            for index, proc in enumerate(self.workers):
                if proc is not None and proc.poll() is not None:  # it died on its own
                    o.log(f"chaos: worker {index} exited ({proc.returncode}); restarting")
                    self.start_worker(index)
                    self.restarts += 1
            if o.kill_every and now >= next_kill and (o.kills is None or self.kills < o.kills):
                index = rng.randrange(o.workers)
                self.kill_worker(index)
                time.sleep(0.5)
                self.start_worker(index)
                self.restarts += 1
                o.log(f"chaos: SIGKILL worker {index} at {now - started:.0f} s")
                next_kill = now + o.kill_every
        driven = (self.dir / "driver.log").read_text().strip().splitlines()
        if driver.returncode != 0:
            raise RuntimeError("the driver failed:\n" + "\n".join(driven[-30:]))
        driver_result = json.loads(driven[-1])
        o.log(f"chaos: driver done in {driver_result['seconds']} s; draining")
        deadline = time.monotonic() + o.drain_timeout
        stop_at = o.stop_at or float("inf")
        while self._unfinished() and time.monotonic() < deadline and time.time() < stop_at:
            time.sleep(1)
        seconds = time.monotonic() - started
        result = self.count(driver_result)
        result["seconds"] = round(seconds, 1)
        result["kills"] = self.kills
        result["unfinished"] = self._unfinished()
        return result

    def _driven(self) -> int:
        with psycopg.connect(self.app_url) as db:
            return db.execute("SELECT COUNT(*) FROM sync_outboxitem").fetchone()[0]

    def _unfinished(self) -> int:
        with psycopg.connect(self.app_url) as db:
            return db.execute(
                "SELECT COUNT(*) FROM sync_outboxitem WHERE status IN ('pending', 'in_flight')"
            ).fetchone()[0]

    # --- the count ------------------------------------------------------------------------
    def count(self, driver_result: dict) -> dict:
        with psycopg.connect(self.app_url) as app, psycopg.connect(self.vendor_url) as vendor:
            return count(app, vendor, driver_result)

    def close(self) -> None:
        for proc in reversed(self.procs):
            self._stop(proc)
        if not self.o.keep:
            _drop(self.o.database_url, self.app_db)
            _drop(self.o.database_url, self.vendor_db)
            shutil.rmtree(self.dir, ignore_errors=True)


def _remote(vendor, table: str, key: str, extra: str = "") -> dict[str, list[tuple]]:
    rows: dict[str, list[tuple]] = {}
    for row in vendor.execute(f"SELECT {key}, created_time{extra} FROM {table}"):  # noqa: S608
        rows.setdefault(row[0], []).append(row[1:])
    return rows


def count(app, vendor, driver_result: dict) -> dict:
    """Compare what we hold with what the vendor holds (its own tables), by our references."""
    expected = {
        kind: {row[0]: row[1:] for row in app.execute(sql)}
        for kind, sql in {
            "clients": "SELECT lower(email), 'active', id FROM clients_client",
            "services": "SELECT sku, 'active', id FROM catalog_service",
            "quotes": "SELECT number, status, id FROM quotes_quote WHERE status <> 'draft'",
            "invoices": "SELECT number, status, id FROM invoices_invoice",
            "payments": "SELECT 'SD-P-' || lpad(id::text, 6, '0'), 'paid', id "
            "FROM invoices_payment",
        }.items()
    }
    remote = {
        "clients": _remote(vendor, "sandbox_bookscontact", "lower(email)"),
        "services": _remote(vendor, "sandbox_booksitem", "sku"),
        "quotes": _remote(vendor, "sandbox_booksestimate", "reference_number", ", status"),
        "invoices": _remote(vendor, "sandbox_booksinvoice", "reference_number", ", status"),
        "payments": _remote(vendor, "sandbox_bookspayment", "reference_number"),
    }
    # Not yet sent (the run stopped waiting before the queue drained): counted apart, not lost.
    waiting = set(
        app.execute(
            "SELECT entity, object_id FROM sync_outboxitem WHERE status IN ('pending', 'in_flight')"
        ).fetchall()
    )
    duplicates = lost = pending = 0
    problems: list[str] = []

    def missing(kind: str, object_id: int, what: str) -> None:
        nonlocal lost, pending
        if (kind, object_id) in waiting:
            pending += 1
        else:
            lost += 1
            problems.append(f"lost: {what}")

    for kind, wanted in expected.items():
        for reference, (status, object_id) in wanted.items():
            copies = remote[kind].get(reference, [])
            if not copies:
                missing(kind, object_id, f"{kind} {reference}")
                continue
            if len(copies) > 1:
                duplicates += len(copies) - 1
                problems.append(f"duplicate: {kind} {reference} x{len(copies)}")
            # A change that reached the vendor as a create but not its later moves is lost too.
            remote_status = copies[0][1] if len(copies[0]) > 1 else None
            if (
                kind == "quotes"
                and status == "accepted"
                and remote_status
                not in (
                    "accepted",
                    "invoiced",
                )
            ):
                missing(kind, object_id, f"acceptance of {reference} (vendor: {remote_status})")
            if kind == "invoices" and status != "draft" and remote_status == "draft":
                missing(kind, object_id, f"sending of {reference} (vendor: draft)")
    order_violations = _order_violations(app, remote, problems)
    dead = [
        {
            "item": row[0],
            "entity": row[1],
            "operation": row[2],
            "reference": row[3],
            "attempts": row[4],
            "error": row[5],
        }
        for row in app.execute(
            "SELECT id, entity, operation, reference, attempts, last_error FROM sync_outboxitem "
            "WHERE status = 'dead' ORDER BY id"
        )
    ]
    remote_documents = sum(len(c) for kind in remote.values() for c in kind.values())
    return {
        "changes": driver_result["changes"],
        "remote_documents": remote_documents,
        "duplicates": duplicates,
        "lost": lost,
        "pending": pending,
        "order_violations": order_violations,
        "dead_letters": len(dead),
        "dead": dead,
        "problems": problems[:50],
        "made": driver_result["made"],
    }


def _order_violations(app, remote: dict, problems: list[str]) -> int:
    """Documents must reach the vendor in the order they were queued: each create's remote
    creation time is after that of every document create queued before it, and a quote's
    estimate comes before its invoice, which comes before its payments."""
    violations = 0
    latest = None
    creates = app.execute(
        "SELECT entity, reference FROM sync_outboxitem WHERE operation = 'create' "
        "AND entity IN ('quotes', 'invoices', 'payments') AND status = 'done' ORDER BY id"
    ).fetchall()
    for entity, reference in creates:
        copies = remote[entity].get(reference)
        if not copies:
            continue
        created = min(copy[0] for copy in copies)
        if latest is not None and created < latest[0]:
            violations += 1
            problems.append(f"order: {entity} {reference} created before {latest[1]}")
        if latest is None or created > latest[0]:
            latest = (created, reference)
    pairs = app.execute(
        "SELECT q.number, i.number FROM invoices_invoice i JOIN quotes_quote q ON q.id = i.quote_id"
    ).fetchall()
    for quote, invoice in pairs:
        estimate, bill = remote["quotes"].get(quote), remote["invoices"].get(invoice)
        if estimate and bill and min(c[0] for c in bill) < min(c[0] for c in estimate):
            violations += 1
            problems.append(f"order: invoice {invoice} before estimate {quote}")
    return violations
