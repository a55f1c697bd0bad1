"""A whole Syncdesk in subprocesses for tests that kill processes: its own SQLite file, the web
server with the sandbox on a free port, and `manage.py` commands run against both."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def scratch_directory(fallback: Path) -> Path:
    """A directory in memory when the machine has one (/dev/shm): migrations and SQLite commits
    there cost a fraction of what they cost on disk."""
    import tempfile

    shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp inside it, removed afterwards
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="syncdesk-stack-", dir=shm))
    return fallback


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# One migrated SQLite file per test process, copied into every stack: `migrate` runs once, not
# once per stack (about ten seconds each).
_template: Path | None = None


class Stack:
    def __init__(self, directory: Path, *, clock_scale: float = 1.0) -> None:
        self.db_path = directory / "stack.sqlite3"
        self.port = free_port()
        base = f"http://127.0.0.1:{self.port}/sandbox"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("DATABASE_URL", "ZOHO_", "XERO_"))
            },
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "SANDBOX_ENABLED": "True",
            "SANDBOX_BASE_URL": base,
            "SYNC_CLOCK_SCALE": str(clock_scale),
            "PYTHONUNBUFFERED": "1",
        }
        self.server: subprocess.Popen | None = None

    def manage(self, *args: str, check: bool = True, timeout: float = 300) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def migrate(self) -> None:
        """The schema, from this process's migrated template (made by the first stack)."""
        global _template
        import atexit
        import shutil
        import tempfile

        if _template is not None and _template.exists():
            shutil.copyfile(_template, self.db_path)
            return
        self.manage("migrate", "--noinput")
        directory = Path(
            tempfile.mkdtemp(prefix="syncdesk-template-", dir=self.db_path.parent.parent)
        )
        shutil.copyfile(self.db_path, directory / "template.sqlite3")
        atexit.register(shutil.rmtree, directory, True)
        _template = directory / "template.sqlite3"

    def run_python(self, code: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """Run `code` with this stack's environment from the project root (no check)."""
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def spawn(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start_server(self) -> None:
        self.server = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runserver",
                f"127.0.0.1:{self.port}",
                "--noreload",
                "--skip-checks",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.server.poll() is not None:
                # Its port was taken meanwhile (another suite, side by side in CI): what answers
                # there is not this stack's server.
                raise AssertionError(f"the web server exited ({self.server.returncode})")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the web server did not start")

    def stop(self) -> None:
        self._stop_server()
        if self.db_path.parent.name.startswith("syncdesk-stack-"):
            import shutil

            shutil.rmtree(self.db_path.parent, ignore_errors=True)

    def _stop_server(self) -> None:
        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(self.db_path, timeout=20) as db:
            return db.execute(sql, params).fetchall()

    def python(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def last_call_id(self) -> int:
        """The newest vendor call's id (0 before any): what `calls_since` counts after."""
        return self.query("SELECT COALESCE(MAX(id), 0) FROM sync_synclog")[0][0]

    def calls_since(self, last_id: int) -> tuple[int, int]:
        """The vendor calls made after `last_id`, and how many of them the vendor answered 429."""
        return self.query(
            "SELECT COUNT(*), COALESCE(SUM(status_code = 429), 0) FROM sync_synclog WHERE id > ?",
            (last_id,),
        )[0]

    def seed(self, **counts) -> dict:
        """`manage.py sandbox seed`, every count 0 unless given (`skip_xero=True` for Books
        only); its JSON answers by vendor, as tests/sync/sandbox.py's `seed` returns them."""
        empty = {"contacts": 0, "items": 0, "documents": 0, "crm_contacts": 0, "deals": 0}
        args = []
        for name, value in (empty | counts).items():
            flag = "--" + name.replace("_", "-")
            args += [flag] if value is True else [flag, str(value)]
        answers = {}
        for line in self.manage("sandbox", "seed", *args).splitlines():
            if line.startswith("{"):
                body = json.loads(line)
                answers[body.get("vendor", "zoho")] = body
        return answers

    def vendor_minute_set(self, *, vendor: str, account: str, seconds: float) -> None:
        """How many real seconds one of the sandbox's vendor minutes lasts for `account`."""
        self.python(
            "from apps.sandbox import clock; "
            f"clock.clock_set(vendor='{vendor}', account='{account}', seconds_per_minute={seconds})"
        )

    def books_connect(self, zoho: dict, *options: str, timeout: float = 300) -> str:
        """`manage.py sync connect zoho` for the seeded organisation, as "Books"; `options` are
        the command's others (--crm, --review). Returns its output."""
        return self.manage(
            "sync", "connect", "zoho", "--refresh-token", zoho["refresh_token"],
            "--organization-id", zoho["organization_id"], "--name", "Books", *options,
            timeout=timeout,
        )  # fmt: skip

    def books_ready(
        self, *, seconds_per_minute: float | None = None, crm: bool = False, **counts
    ) -> dict:
        """The set-up the process-level benchmarks share: Books seeded (`counts`, 0 unless
        given), its vendor minute set when asked, the web server started and Books connected.
        Returns the seed's Zoho answer."""
        zoho = self.seed(skip_xero=True, **counts)["zoho"]
        if seconds_per_minute is not None:
            self.vendor_minute_set(
                vendor="zoho", account=zoho["organization_id"], seconds=seconds_per_minute
            )
        self.start_server()
        self.books_connect(zoho, *(["--crm"] if crm else []))
        return zoho


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])
