"""The demo data: every quote state, invoices paid, partly paid and overdue; a second run adds
nothing."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.clients.models import Client
from apps.invoices.models import CommissionBill, Invoice, Payment
from apps.quotes.models import Quote
from apps.tickets.models import Ticket
from apps.users.roles import AGENT
from apps.users.services import user_provision

pytestmark = pytest.mark.django_db


def load() -> dict:
    out = StringIO()
    call_command("load_demo_data", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_load_demo_data_builds_every_state_and_is_idempotent(password):
    user_provision(email="agent@syncdesk.test", password=password, role=AGENT)
    first = load()
    assert first["quotes"] > 0
    assert first["invoices"] > 0
    assert Client.objects.count() >= 50
    assert Ticket.objects.exists()
    quote_states = set(Quote.objects.values_list("status", flat=True))
    assert quote_states == {"draft", "sent", "accepted", "rejected", "expired", "superseded"}
    assert Quote.objects.filter(revision_of__isnull=False).exists()
    assert Quote.objects.filter(ticket__isnull=False).exists()
    invoice_states = set(Invoice.objects.values_list("status", flat=True))
    assert {"paid", "partially_paid", "overdue", "sent", "draft", "void"} <= invoice_states
    assert Invoice.objects.filter(status="overdue", amount_paid__gt=0).exists()
    assert Invoice.objects.filter(quote__isnull=False).exists()
    assert CommissionBill.objects.exists()
    for invoice in Invoice.objects.exclude(status="void"):
        assert invoice.balance == invoice.total - invoice.amount_paid
    counts = (Quote.objects.count(), Invoice.objects.count(), Payment.objects.count())
    assert load() == {"quotes": 0, "invoices": 0}
    assert (Quote.objects.count(), Invoice.objects.count(), Payment.objects.count()) == counts
