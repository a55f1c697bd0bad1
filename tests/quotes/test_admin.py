"""The quotes admin: list, search, add and change through the services, read-only once sent,
every action, the printable page's permissions, and a list whose query count does not grow."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.invoices.models import Invoice
from apps.quotes import services
from apps.quotes.models import Quote
from apps.users.services import user_provision
from tests.benchmarks.report import count_queries
from tests.quotes.admin_data import bulk_quotes
from tests.quotes.factories import DocClientFactory, DocServiceFactory, make_quote, make_sent_quote

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:quotes_quote_changelist")
ADD = reverse("admin:quotes_quote_add")


def change_url(quote) -> str:
    return reverse("admin:quotes_quote_change", args=[quote.pk])


def line_management(total: int, initial: int) -> dict:
    return {
        "lines-TOTAL_FORMS": str(total),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }


def header(client, **overrides) -> dict:
    data = {
        "client": str(client.pk),
        "issue_date": datetime.date.today().isoformat(),
        "valid_until": (datetime.date.today() + datetime.timedelta(days=14)).isoformat(),
        "currency": "ZAR",
        "discount_type": "amount",
        "discount_value": "0",
        "notes": "",
        "terms": "Payable on acceptance.",
    }
    return data | overrides


def test_list_search_add_and_change_pages_open(admin_client_mfa):
    quote = make_sent_quote()
    assert admin_client_mfa.get(CHANGELIST).status_code == 200
    found = admin_client_mfa.get(CHANGELIST, {"q": quote.number})
    assert found.status_code == 200
    assert quote.number in found.content.decode()
    assert admin_client_mfa.get(CHANGELIST, {"q": "no-such-quote"}).context["cl"].result_count == 0
    assert admin_client_mfa.get(ADD).status_code == 200
    page = admin_client_mfa.get(change_url(quote))
    assert page.status_code == 200
    assert (
        admin_client_mfa.get(reverse("admin:quotes_quote_history", args=[quote.pk])).status_code
        == 200
    )
    sequences = reverse("admin:quotes_documentsequence_changelist")
    assert admin_client_mfa.get(sequences).status_code == 200
    assert admin_client_mfa.get(sequences, {"q": "quote"}).status_code == 200
    assert admin_client_mfa.get(reverse("admin:quotes_documentsequence_add")).status_code == 403


def test_add_with_lines_goes_through_the_services(admin_client_mfa, admin_with_mfa):
    client = DocClientFactory()
    service = DocServiceFactory(rate=Decimal("300.00"))
    data = header(client, discount_type="percent", discount_value="10") | line_management(2, 0)
    data |= {
        "lines-0-service": str(service.pk),  # name, rate and tax copied from the service
        "lines-0-quantity": "2",
        "lines-1-name": "Courier to Pretoria",
        "lines-1-quantity": "1",
        "lines-1-rate": "100",
        "lines-1-tax_rate": "0",
    }
    response = admin_client_mfa.post(ADD, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    quote = Quote.objects.get()
    assert quote.number == "Q-000001"
    assert quote.created_by == admin_with_mfa
    assert [line.name for line in quote.lines.all()] == [service.name, "Courier to Pretoria"]
    assert quote.subtotal == Decimal("700.00")
    assert quote.discount_total == Decimal("70.00")
    assert quote.tax_total == Decimal("81.00")  # (600 - 60) x 15%
    assert quote.total == Decimal("711.00")


def test_change_recomputes_totals_and_removes_lines(admin_client_mfa):
    quote = make_quote(lines=2)
    first, second = quote.lines.all()
    data = header(quote.client) | line_management(2, 2)
    for index, line in enumerate((first, second)):
        data |= {
            f"lines-{index}-id": str(line.pk),
            f"lines-{index}-quote": str(quote.pk),
            f"lines-{index}-position": str(line.position),
            f"lines-{index}-name": line.name,
            f"lines-{index}-quantity": "2",
            f"lines-{index}-rate": "100",
            f"lines-{index}-tax_rate": "15",
        }
    data["lines-0-quantity"] = "5"
    data["lines-1-DELETE"] = "on"
    response = admin_client_mfa.post(change_url(quote), data)
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.lines.count() == 1
    assert quote.total == Decimal("575.00")
    assert quote.terms == "Payable on acceptance."


def test_a_refused_save_shows_the_reason_and_changes_nothing(admin_client_mfa):
    quote = make_quote(lines=1)
    data = header(quote.client, discount_value="999") | line_management(0, 0)
    # The lines formset is bound to the existing line; omit it so only the header changes.
    data |= line_management(1, 1) | {
        "lines-0-id": str(quote.lines.get().pk),
        "lines-0-quote": str(quote.pk),
        "lines-0-position": "1",
        "lines-0-name": "Apostille",
        "lines-0-quantity": "2",
        "lines-0-rate": "100",
        "lines-0-tax_rate": "15",
    }
    response = admin_client_mfa.post(change_url(quote), data, follow=True)
    assert "The discount (999.00) cannot exceed the subtotal (200.00)." in response.content.decode()
    quote.refresh_from_db()
    assert quote.discount_value == Decimal("0")
    assert quote.total == Decimal("230.00")


def discount_form(quote, **overrides) -> dict:
    """The whole change form of a one-line draft, as the browser would post it unchanged."""
    line = quote.lines.get()
    data = header(
        quote.client,
        issue_date=quote.issue_date.isoformat(),
        valid_until=quote.valid_until.isoformat(),
        discount_type=quote.discount_type,
        discount_value=str(quote.discount_value),
        terms=quote.terms,
    )
    data |= line_management(1, 1) | {
        "lines-0-id": str(line.pk),
        "lines-0-quote": str(quote.pk),
        "lines-0-position": str(line.position),
        "lines-0-name": line.name,
        "lines-0-quantity": str(line.quantity),
        "lines-0-rate": str(line.rate),
        "lines-0-tax_rate": str(line.tax_rate),
    }
    return data | overrides


@pytest.mark.parametrize(
    ("changes", "stored", "discount_total"),
    [
        # Only the type: 10 off becomes 10% off (the old admin stored 0.000 here).
        ({"discount_type": "percent"}, ("percent", Decimal("10.000")), Decimal("20.00")),
        ({"discount_value": "25"}, ("amount", Decimal("25.000")), Decimal("25.00")),
        (
            {"discount_type": "percent", "discount_value": "50"},
            ("percent", Decimal("50.000")),
            Decimal("100.00"),
        ),
    ],
    ids=["only-type", "only-value", "both"],
)
def test_changing_the_discount_keeps_the_field_left_alone(
    admin_client_mfa, changes, stored, discount_total
):
    quote = services.quote_update(quote=make_quote(lines=1), discount_value=Decimal("10"))
    assert quote.discount_total == Decimal("10.00")
    response = admin_client_mfa.post(change_url(quote), discount_form(quote, **changes))
    assert response.status_code == 302
    assert response.url == CHANGELIST, [str(m) for m in response.wsgi_request._messages]
    quote.refresh_from_db()
    assert (quote.discount_type, quote.discount_value) == stored
    assert quote.discount_total == discount_total


def test_a_sent_quote_is_read_only(admin_client_mfa):
    quote = make_sent_quote()
    page = admin_client_mfa.get(change_url(quote))
    assert page.context["has_change_permission"] is False
    assert 'name="_save"' not in page.content.decode()
    assert page.context["inline_admin_formsets"][0].has_change_permission is False
    response = admin_client_mfa.post(change_url(quote), header(quote.client, notes="sneaky"))
    assert response.status_code == 403
    quote.refresh_from_db()
    assert quote.notes == ""


def run_action(client, action: str, *quotes, follow=True):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(quote.pk) for quote in quotes]},
        follow=follow,
    )


def test_actions_send_accept_reject_expire_revise_convert(
    admin_client_mfa, django_capture_on_commit_callbacks
):
    to_send = make_quote()
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client_mfa, "send", to_send)
    assert "Sent: 1 record." in response.content.decode()
    assert len(mail.outbox) == 1
    to_accept, to_reject, to_revise = make_sent_quote(), make_sent_quote(), make_sent_quote()
    run_action(admin_client_mfa, "accept", to_accept)
    run_action(admin_client_mfa, "reject", to_reject)
    run_action(admin_client_mfa, "revise", to_revise)
    to_expire = make_sent_quote()
    Quote.objects.filter(pk=to_expire.pk).update(
        valid_until=datetime.date.today() - datetime.timedelta(days=1)
    )
    run_action(admin_client_mfa, "expire", to_expire)
    response = run_action(admin_client_mfa, "convert_to_invoice", to_accept, to_reject)
    text = response.content.decode()
    assert "Invoiced: 1 record." in text
    assert f"Quote {to_reject.number} is rejected; only an accepted quote can be invoiced." in text
    statuses = dict(Quote.objects.values_list("number", "status"))
    assert statuses[to_send.number] == "sent"
    assert statuses[to_accept.number] == "accepted"
    assert statuses[to_reject.number] == "rejected"
    assert statuses[to_expire.number] == "expired"
    assert statuses[f"{to_revise.number}-R1"] == "draft"
    assert statuses[to_revise.number] == "superseded"
    assert Invoice.objects.get().quote == to_accept
    # A refusal is a message, not an error page, and changes nothing.
    response = run_action(admin_client_mfa, "accept", to_send, to_reject, to_revise)
    text = response.content.decode()
    assert f"Quote {to_reject.number} is rejected; only a sent quote can be accepted." in text
    assert (
        f"Quote {to_revise.number} was superseded by its revision {to_revise.number}-R1; "
        f"it can no longer be accepted (use {to_revise.number}-R1 instead)."
    ) in text
    assert Quote.objects.get(pk=to_revise.pk).status == "superseded"


def test_the_printable_page_needs_login_and_permission(agent_client, password):
    quote = make_sent_quote(lines=2)
    url = reverse("quotes:print", args=[quote.pk])
    assert Client().get(url).status_code == 302  # anonymous: to the login page
    page = agent_client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert f"Quote {quote.number}" in text
    assert "460.00" in text
    assert agent_client.get(reverse("quotes:print", args=[999999])).status_code == 404
    # A staff member without the view permission is refused.
    outsider = user_provision(email="temp@example.com", password=password, role="Agent")
    outsider.groups.clear()
    other = Client()
    other.force_login(outsider)
    assert other.get(url).status_code == 403


def test_agents_may_work_quotes(agent_client):
    quote = make_quote()
    assert agent_client.get(CHANGELIST).status_code == 200
    assert agent_client.get(change_url(quote)).status_code == 200
    actions = agent_client.get(CHANGELIST).context["action_form"].fields["action"].choices
    names = {name for name, _ in actions}
    assert {"send", "accept", "reject", "revise", "convert_to_invoice"} <= names
    assert not Permission.objects.filter(group__name="Agent", codename="delete_quote").exists()


def list_queries(client, url) -> int:
    with count_queries() as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_changelist_queries_do_not_grow_with_rows(admin_client_mfa, admin_with_mfa):
    bulk_quotes(10, user=admin_with_mfa)
    small = list_queries(admin_client_mfa, CHANGELIST)
    bulk_quotes(990, start=11, user=admin_with_mfa)
    assert Quote.objects.count() == 1000
    large = list_queries(admin_client_mfa, CHANGELIST)
    assert large == small
    assert list_queries(admin_client_mfa, CHANGELIST + "?status__exact=sent&q=Bulk") <= small + 1


def test_history_keeps_who_changed_what(admin_client_mfa, admin_with_mfa):
    quote = make_quote()
    run_action(admin_client_mfa, "send", quote)
    latest = quote.history.latest()
    assert latest.status == "sent"
    assert latest.history_user == admin_with_mfa
    services.quote_accept(quote=quote)
    assert quote.history.count() >= 3
