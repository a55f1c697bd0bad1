"""The worker is killed (SIGKILL, a real process) right after the sandbox committed a create: an
estimate, an invoice, a customer payment, a CRM deal and a Xero contact. The vendor stalls its
answer after the commit (the sandbox's time-out-after-commit fault), so the worker dies holding a
create that exists remotely and is not bound here. After a restart, each exists once.

Whole processes over real HTTP: the web server with the sandbox, `manage.py sync run --direction
push` as the worker, and the domain changes made through the services in `manage.py shell`."""

import json
import signal
import time

import pytest

from tests.sync.stack import Stack, scratch_directory

STALL_SECONDS = 60  # far past the kill: the worker never sees the answer


@pytest.fixture
def stack(tmp_path):
    running = Stack(scratch_directory(tmp_path))
    running.migrate()
    yield running
    running.stop()


# The stack's settings run tasks synchronously (the test settings): without this, a change made
# in the shell would be pushed by its own on-commit drain. Here only the worker pushes.
NO_DRAIN_ON_COMMIT = "from apps.sync.engine import outbox\noutbox._kick = lambda: None\n"


def shell(stack: Stack, code: str) -> dict:
    """Run Django code in the stack; its last printed line is JSON."""
    out = stack.python(NO_DRAIN_ON_COMMIT + code)
    return json.loads(out.strip().splitlines()[-1])


SETUP = """
import json
from apps.users.roles import AGENT
from apps.users.services import user_provision
from apps.clients.services import client_create
from apps.catalog.services import service_create
agent = user_provision(email="agent@example.com", password="x-very-long-pass", role=AGENT)
client = client_create(name="Thandi Mokoena", email="thandi@example.com")
one = service_create(name="Apostille", rate="350.00", sku="APO-1")
two = service_create(name="Courier", rate="120.00", sku="COU-1")
print(json.dumps({"client": client.pk, "services": [one.pk, two.pk], "agent": agent.pk}))
"""

SEND_QUOTE = """
import json
from apps.clients.models import Client
from apps.catalog.models import Service
from apps.quotes import services as quotes
from apps.users.models import User
quote = quotes.quote_create(created_by=User.objects.get(email="agent@example.com"),
                            client=Client.objects.get(email="thandi@example.com"))
for service in Service.objects.order_by("id"):
    quotes.quote_line_add(quote=quote, service=service, quantity="3")
quote = quotes.quote_send(quote=quote)
print(json.dumps({"quote": quote.pk, "number": quote.number}))
"""


class Scenario:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        answers = stack.seed()
        self.zoho, self.xero = answers["zoho"], answers["xero"]
        stack.start_server()
        stack.books_connect(self.zoho, "--crm")
        # With its bank account, as Connect Xero asks: the queued Xero payment can then be sent
        # (without it the payment is refused, dead-lettered, whenever a push reaches it).
        stack.manage(
            "sync", "connect", "xero", "--refresh-token", self.xero["refresh_token"],
            "--bank-account", "090",
        )  # fmt: skip
        self.xero_names = [row[0] for row in stack.query(
            "SELECT name FROM sync_connection WHERE provider = 'xero' ORDER BY id"
        )]  # fmt: skip

    def push(self, connection: str) -> None:
        self.stack.manage("sync", "run", "--direction", "push", "--connection", connection)

    def push_all(self) -> None:
        for name in ["Books", "Books (CRM)", *self.xero_names]:
            self.push(name)

    def stall_writes(self, vendor: str, account: str) -> None:
        self.stack.manage(
            "sandbox", "fault", vendor, account, "--timeout-share", "1",
            "--timeout-seconds", str(STALL_SECONDS),
        )  # fmt: skip

    def heal(self, vendor: str, account: str) -> None:
        self.stack.manage("sandbox", "fault", vendor, account, "--clear")

    def kill_push_when(self, connection: str, sql: str, params: tuple, expected: int) -> None:
        """Start the worker; SIGKILL it once the sandbox's table shows the create committed."""
        worker = self.stack.spawn("sync", "run", "--direction", "push", "--connection", connection)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.stack.query(sql, params)[0][0] >= expected:
                break
            assert worker.poll() is None, worker.communicate()
            time.sleep(0.05)
        else:
            worker.kill()
            raise AssertionError(f"the sandbox never committed: {sql} {params}")
        assert worker.poll() is None, "the worker finished: it was not killed mid-call"
        time.sleep(0.2)  # the create is committed remotely; the answer is still stalled
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        # It died holding the create, which it had marked attempted (uncertain) before sending.
        held = (
            "SELECT COUNT(*) FROM sync_outboxitem o JOIN sync_connection c "
            "ON c.id = o.connection_id WHERE o.status = 'in_flight' AND o.uncertain AND c.name = ?"
        )
        assert self.count(held, (connection,)) == 1
        # The next worker: the dead one's lease has run out.
        self.stack.query(
            "UPDATE sync_outboxitem SET lease_until = '2000-01-01 00:00:00' "
            "WHERE status = 'in_flight'"
        )

    def count(self, sql: str, params: tuple = ()) -> int:
        return self.stack.query(sql, params)[0][0]


def test_a_worker_killed_after_the_vendor_committed_never_duplicates(stack):
    world = Scenario(stack)
    org = world.zoho["organization_id"]
    shell(stack, SETUP)
    shell(stack, SEND_QUOTE)
    world.push_all()  # the client, the services, a first estimate and deal: all bound

    # An estimate (and, on the CRM connection, its deal).
    quote = shell(stack, SEND_QUOTE)
    estimates = "SELECT COUNT(*) FROM sandbox_booksestimate WHERE reference_number = ?"
    world.stall_writes("zoho", org)
    world.kill_push_when("Books", estimates, (quote["number"],), 1)
    deals = "SELECT COUNT(*) FROM sandbox_crmrecord WHERE module = 'Deals'"
    world.kill_push_when("Books (CRM)", deals, (), 2)
    world.heal("zoho", org)
    world.push("Books")
    world.push("Books (CRM)")
    assert world.count(estimates, (quote["number"],)) == 1
    assert world.count(deals) == 2
    status = "SELECT status FROM sandbox_booksestimate WHERE reference_number = ?"
    assert stack.query(status, (quote["number"],)) == [("sent",)]

    # The invoice of the accepted quote.
    shell(
        stack,
        "import json\n"
        "from apps.quotes.models import Quote\n"
        "from apps.quotes import services as quotes\n"
        f"quote = quotes.quote_accept(quote=Quote.objects.get(pk={quote['quote']}))\n"
        "print(json.dumps({'accepted': quote.number}))",
    )
    world.push("Books")  # the acceptance first
    invoice = shell(
        stack,
        "import json\n"
        "from apps.quotes.models import Quote\n"
        "from apps.invoices import services as invoices\n"
        f"quote = Quote.objects.get(pk={quote['quote']})\n"
        "invoice = invoices.invoice_create_from_quote(quote=quote)\n"
        "print(json.dumps({'invoice': invoice.pk, 'number': invoice.number}))",
    )
    invoices = "SELECT COUNT(*) FROM sandbox_booksinvoice WHERE invoice_number = ?"
    world.stall_writes("zoho", org)
    world.kill_push_when("Books", invoices, (invoice["number"],), 1)
    world.heal("zoho", org)
    world.push("Books")
    assert world.count(invoices, (invoice["number"],)) == 1

    # A customer payment on that invoice.
    shell(
        stack,
        "import json\n"
        "from apps.invoices.models import Invoice\n"
        "from apps.invoices import services as invoices\n"
        f"invoice = invoices.invoice_send(invoice=Invoice.objects.get(pk={invoice['invoice']}))\n"
        "print(json.dumps({'sent': invoice.number}))",
    )
    world.push("Books")
    shell(
        stack,
        "import json\n"
        "from apps.invoices.models import Invoice\n"
        "from apps.invoices import services as invoices\n"
        f"invoice = Invoice.objects.get(pk={invoice['invoice']})\n"
        "payment = invoices.payment_record(invoice=invoice, amount='100.00')\n"
        "print(json.dumps({'payment': payment.pk}))",
    )
    payments = "SELECT COUNT(*) FROM sandbox_bookspayment"
    world.stall_writes("zoho", org)
    world.kill_push_when("Books", payments, (), 1)
    world.heal("zoho", org)
    world.push("Books")
    assert world.count(payments) == 1

    # A Xero contact (the first tenant; the sandbox login reaches two).
    tenant = stack.query(
        "SELECT remote_account_id FROM sync_connection WHERE name = ?", (world.xero_names[0],)
    )[0][0]
    shell(
        stack,
        "import json\n"
        "from apps.clients.services import client_create\n"
        "client = client_create(name='Lindiwe Dube', email='lindiwe@example.com')\n"
        "print(json.dumps({'client': client.pk}))",
    )
    contacts = "SELECT COUNT(*) FROM sandbox_xero_xerocontact WHERE email_address = ?"
    world.stall_writes("xero", tenant)
    world.kill_push_when(world.xero_names[0], contacts, ("lindiwe@example.com",), 1)
    world.heal("xero", tenant)
    world.push(world.xero_names[0])
    assert world.count(contacts, ("lindiwe@example.com",)) == 1
    dead = stack.query(
        "SELECT id, entity, operation, last_error FROM sync_outboxitem WHERE status = 'dead'"
    )
    assert dead == []  # on failure, names each dead item and why it died
