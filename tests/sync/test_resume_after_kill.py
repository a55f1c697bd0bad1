"""`sync run` killed with SIGKILL half-way through a 20,000-contact pull, then run again: every
contact bound exactly once, at most one page fetched twice. Whole processes, real HTTP."""

import re
import signal
import time
from collections import Counter

import pytest

from tests.sync.stack import Stack, last_json, scratch_directory

CONTACTS = 20_000
PAGES = CONTACTS // 200


@pytest.fixture
def stack(tmp_path):
    # One vendor minute per real second: Books' 100 calls a minute become 100 a second.
    running = Stack(scratch_directory(tmp_path), clock_scale=1 / 60)
    running.migrate()
    yield running
    running.stop()


def test_killed_pull_resumes_and_binds_every_contact_once(stack):
    stack.books_ready(seconds_per_minute=1, contacts=CONTACTS)

    first = stack.spawn("sync", "run", "--entity", "clients", "--direction", "pull")
    deadline = time.time() + 120
    pages_done = 0
    while time.time() < deadline and first.poll() is None:
        rows = stack.query("SELECT pages FROM sync_syncrun")
        pages_done = rows[0][0] if rows else 0
        if pages_done >= PAGES // 2:
            break
        time.sleep(0.05)
    assert first.poll() is None, "the pull finished before it could be killed"
    first.send_signal(signal.SIGKILL)
    first.wait()
    bound_at_kill = stack.query("SELECT COUNT(*) FROM sync_binding")[0][0]
    assert 0 < bound_at_kill < CONTACTS

    summary = last_json(stack.manage("sync", "run", "--entity", "clients", "--direction", "pull"))
    assert summary["ok"], summary

    bindings = stack.query(
        "SELECT COUNT(*), COUNT(DISTINCT remote_id), COUNT(DISTINCT object_id)"
        " FROM sync_binding WHERE entity = 'clients'"
    )[0]
    assert bindings == (CONTACTS, CONTACTS, CONTACTS)
    assert stack.query("SELECT COUNT(*) FROM clients_client")[0][0] == CONTACTS
    assert stack.query("SELECT COUNT(*), MAX(status) FROM sync_syncrun") == [(1, "succeeded")]

    urls = [
        row[0]
        for row in stack.query(
            "SELECT url FROM sync_synclog WHERE method = 'GET' AND url LIKE '%/books/v3/contacts%'"
        )
    ]
    pages = Counter(int(re.search(r"[?&]page=(\d+)", url).group(1)) for url in urls)
    assert set(pages) == set(range(1, PAGES + 1))
    fetched_twice = [page for page, times in pages.items() if times > 1]
    assert len(fetched_twice) <= 1 and max(pages.values()) <= 2


def test_demo_step_seeds_connects_and_pulls_with_no_server_running(stack):
    """`make demo` runs this before the web server exists; it serves the sandbox itself."""
    out = stack.manage("sync_connect_sandbox", "--pull")
    connected = last_json(out)["connected"]
    # One Zoho Books organisation and its CRM (the demo's deals), two Xero tenants.
    assert len(connected) == 4
    assert stack.query("SELECT COUNT(*) FROM sync_connection WHERE status = 'connected'") == [(4,)]
    assert "approved automatically (demo)" in out
    assert stack.query("SELECT COUNT(*) FROM clients_client")[0][0] > 0
    again = stack.manage("sync_connect_sandbox")  # idempotent: the same four connections
    assert last_json(again)["connected"] == connected
    assert stack.query("SELECT COUNT(*) FROM sync_connection") == [(4,)]
