"""What the pages do: the quote builder (save, refusals that keep the input, live totals, the
actions), payments, ticket work, PDFs with the business's details, roles."""

import io
from decimal import Decimal

import pytest
from django.core import mail

from apps.invoices.models import Invoice, Payment
from apps.quotes.models import Quote, QuoteLine
from apps.tickets.models import Message
from apps.workspace.services import business_profile_get
from tests.quotes.factories import DocClientFactory, DocServiceFactory, snapshot
from tests.workspace.helpers import make_invoice, make_ticket

pytestmark = pytest.mark.django_db


def pdf_libraries_missing() -> str:
    """Why WeasyPrint cannot run here ("" when it can): .ci/run installs Pango and fonts."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as error:
        return f"WeasyPrint cannot load its system libraries (Pango): {error}"
    return ""


needs_pdf = pytest.mark.skipif(bool(pdf_libraries_missing()), reason=pdf_libraries_missing())


def builder_post(client_id, lines, **header):
    data = {
        "client": client_id,
        "discount_type": "amount",
        "discount_value": "0",
        "line_id": [],
        "line_key": [],
        "line_service": [],
        "line_name": [],
        "line_description": [],
        "line_quantity": [],
        "line_rate": [],
        "line_tax_rate": [],
    }
    for index, line in enumerate(lines):
        data["line_id"].append(line.get("id", ""))
        data["line_key"].append(f"k{index}")
        data["line_service"].append(line.get("service", ""))
        data["line_name"].append(line.get("name", ""))
        data["line_description"].append("")
        data["line_quantity"].append(line.get("quantity", "1"))
        data["line_rate"].append(line.get("rate", ""))
        data["line_tax_rate"].append(line.get("tax_rate", ""))
    return data | header


def test_new_line_takes_rate_unit_and_tax_from_the_catalogue(agent_client):
    service = DocServiceFactory(name="Police clearance", rate=Decimal("380.00"), unit="Certificate")
    typed = builder_post(DocClientFactory().pk, [{"name": "Typed first", "rate": "10"}])
    response = agent_client.post("/quotes/lines/", typed | {"add_service": service.pk})
    html = response.content.decode()
    assert 'value="380.00"' in html and 'value="15"' in html and "Certificate" in html
    assert 'value="Typed first"' in html  # the rows typed so far come back as they were
    # 10.00 + 380.00 + 15% of 380.00 = 447.00
    assert '<dd class="num strong" id="t-total">447.00 ZAR</dd>' in html
    removed = agent_client.post("/quotes/lines/", typed | {"remove_key": "k0"}).content.decode()
    assert "Typed first" not in removed and "No lines yet" in removed


@needs_pdf
def test_save_and_send_from_a_ticket(agent_client, agent_user, django_capture_on_commit_callbacks):
    ticket = make_ticket(user=agent_user)
    first, second = DocServiceFactory(), DocServiceFactory(rate=Decimal("120.00"))
    data = builder_post(
        ticket.client_id,
        [
            {"service": first.pk, "name": first.name, "rate": "450.00", "tax_rate": "15"},
            {"service": second.pk, "name": second.name, "quantity": "2", "rate": "120.00"},
        ],
        ticket=ticket.pk,
        then="send",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post("/quotes/new/", data, follow=True)
    quote = Quote.objects.get()
    assert quote.status == Quote.Status.SENT and quote.ticket_id == ticket.pk
    # 450 + 15% = 517.50; 2 x 120 with the tax left blank takes the service's 15%: 276.00.
    assert quote.total == Decimal("793.50")
    assert f"Quote {quote.number} sent to" in response.content.decode()
    assert mail.outbox[-1].attachments[0][0] == f"{quote.number}.pdf"


def test_a_refused_save_keeps_every_typed_value_and_names_the_line(agent_client):
    client = DocClientFactory()
    service = DocServiceFactory()
    before = snapshot(Quote, QuoteLine)
    data = builder_post(
        client.pk,
        [
            {"service": service.pk, "name": "Typed name kept", "quantity": "3", "rate": "99.5"},
            {"name": "Second line", "quantity": "-2", "rate": "10"},
        ],
        notes="Please call first",
        discount_value="5",
    )
    response = agent_client.post("/quotes/new/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Line 2: Quantity cannot be negative." in html
    # The totals name the line too, not the discount the negative line would seem to exceed.
    assert "Line 2 has a negative quantity, rate or tax." in html
    assert "cannot exceed the subtotal" not in html
    assert 'value="Typed name kept"' in html and 'value="99.5"' in html and 'value="-2"' in html
    assert "Please call first" in html and 'value="5"' in html
    assert 'aria-invalid="true" aria-describedby="err-qty-k1"' in html
    assert snapshot(Quote, QuoteLine) == before


def test_a_discount_over_the_subtotal_is_refused_beside_its_field(agent_client):
    data = builder_post(
        DocClientFactory().pk, [{"name": "Apostille", "rate": "100"}], discount_value="500"
    )
    response = agent_client.post("/quotes/new/", data)
    assert response.status_code == 400
    assert "cannot exceed the subtotal" in response.content.decode()
    assert not Quote.objects.exists()


def test_editing_a_draft_updates_adds_and_removes_lines(agent_client, agent_user):
    from apps.quotes import services

    quote = services.quote_create(created_by=agent_user, client=DocClientFactory())
    kept = services.quote_line_add(quote=quote, name="Kept", rate="100", tax_rate="0")
    services.quote_line_add(quote=quote, name="Dropped", rate="50", tax_rate="0")
    data = builder_post(
        quote.client_id,
        [
            {"id": kept.pk, "name": "Kept", "quantity": "2", "rate": "100", "tax_rate": "0"},
            {"name": "New", "rate": "30", "tax_rate": "0"},
        ],
        discount_value="20",
        then="save",
    )
    response = agent_client.post(f"/quotes/{quote.pk}/", data)
    assert response.status_code == 302
    quote.refresh_from_db()
    assert [line.name for line in quote.lines.all()] == ["Kept", "New"]
    assert (quote.subtotal, quote.discount_total, quote.total) == (
        Decimal("230.00"),
        Decimal("20.00"),
        Decimal("210.00"),
    )


def test_live_totals_come_from_the_one_totals_function(agent_client):
    data = builder_post(
        DocClientFactory().pk,
        [{"name": "A", "quantity": "3", "rate": "33.33", "tax_rate": "15"}],
        discount_type="percent",
        discount_value="10",
    )
    html = agent_client.post("/quotes/totals/", data).content.decode()
    # 99.99 - 10.00 discount = 89.99; tax 13.50; total 103.49
    assert "99.99 ZAR" in html and "10.00 ZAR" in html and "103.49 ZAR" in html
    assert 'id="amount-k0" hx-swap-oob="true">99.99' in html
    bad = agent_client.post("/quotes/totals/", data | {"line_rate": ["abc"]}).content.decode()
    assert "Line 1 has a number that cannot be read." in bad


def test_quote_actions_link_to_what_they_made(agent_client, agent_user):
    from apps.quotes import services

    quote = services.quote_create(created_by=agent_user, client=DocClientFactory())
    services.quote_line_add(quote=quote, service=DocServiceFactory())
    services.quote_send(quote=quote)
    response = agent_client.post(f"/quotes/{quote.pk}/accept/", follow=True)
    assert "accepted" in response.content.decode()
    response = agent_client.post(f"/quotes/{quote.pk}/convert/", follow=True)
    invoice = Invoice.objects.get(quote=quote)
    assert response.redirect_chain[-1][0] == f"/invoices/{invoice.pk}/"
    assert f'<a href="/invoices/{invoice.pk}/">Open {invoice.number}</a>' in (
        response.content.decode()
    )
    again = agent_client.post(f"/quotes/{quote.pk}/convert/", follow=True).content.decode()
    assert f"already invoiced as {invoice.number}" in again


def test_revise_opens_the_new_revision(agent_client, agent_user):
    from apps.quotes import services

    quote = services.quote_create(created_by=agent_user, client=DocClientFactory())
    services.quote_line_add(quote=quote, service=DocServiceFactory())
    services.quote_send(quote=quote)
    response = agent_client.post(f"/quotes/{quote.pk}/revise/", follow=True)
    revision = Quote.objects.get(revision_of=quote)
    assert response.redirect_chain[-1][0] == f"/quotes/{revision.pk}/"


def test_record_payment_defaults_to_the_balance(agent_client, agent_user):
    invoice = make_invoice(user=agent_user)
    page = agent_client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert f'value="{invoice.balance}"' in page
    response = agent_client.post(
        f"/invoices/{invoice.pk}/",
        {"action": "payment", "amount": "100.00", "date": "2020-01-01", "mode": "cash"},
        follow=True,
    )
    assert "Payment of 100.00 ZAR recorded" in response.content.decode()
    assert Payment.objects.get().amount == Decimal("100.00")


def test_an_overpayment_is_refused_beside_the_amount_keeping_the_input(agent_client, agent_user):
    invoice = make_invoice(user=agent_user)
    response = agent_client.post(
        f"/invoices/{invoice.pk}/",
        {"action": "payment", "amount": "99999.00", "date": "2020-01-01", "mode": "cash"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "exceeds the balance due" in html and 'value="99999.00"' in html
    assert not Payment.objects.exists()


def test_only_admins_void(agent_client, agent_user, client, admin_with_mfa):
    invoice = make_invoice(user=agent_user)
    assert agent_client.post(f"/invoices/{invoice.pk}/", {"action": "void"}).status_code == 403
    client.force_login(admin_with_mfa)
    client.post(f"/invoices/{invoice.pk}/", {"action": "void"})
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID


def test_a_reply_is_emailed_and_a_note_is_not(
    agent_client, agent_user, django_capture_on_commit_callbacks
):
    ticket = make_ticket(user=agent_user)
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(f"/tickets/{ticket.pk}/", {"action": "reply", "reply-body": "Done today"})
        agent_client.post(f"/tickets/{ticket.pk}/", {"action": "note", "note-body": "Internal"})
    assert [m.to for m in mail.outbox] == [[ticket.client.email]]
    assert "Done today" in mail.outbox[0].body
    assert Message.objects.filter(body="Internal", is_internal_note=True).exists()


def test_ticket_status_and_assign(agent_client, agent_user, second_agent):
    ticket = make_ticket(user=agent_user)
    agent_client.post(f"/tickets/{ticket.pk}/", {"action": "assign", "assignee": second_agent.pk})
    agent_client.post(f"/tickets/{ticket.pk}/", {"action": "status", "status": "pending"})
    ticket.refresh_from_db()
    assert ticket.assignee == second_agent and ticket.status == "pending"
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'href="/quotes/new/?ticket={ticket.pk}"' in page


def test_raise_quote_fills_client_and_ticket(agent_client, agent_user):
    ticket = make_ticket(user=agent_user)
    html = agent_client.get(f"/quotes/new/?ticket={ticket.pk}").content.decode()
    assert f'name="client" value="{ticket.client_id}"' in html
    assert f'name="ticket" value="{ticket.pk}"' in html


def test_receivables_buckets_and_csv(agent_client, agent_user):
    import datetime

    from django.utils import timezone

    invoice = make_invoice(user=agent_user, client=DocClientFactory(name="=Evil Corp"))
    Invoice.objects.filter(pk=invoice.pk).update(
        due_date=timezone.localdate() - datetime.timedelta(days=45)
    )
    csv_text = agent_client.get("/reports/receivables/?format=csv").content.decode()
    header, row = csv_text.strip().splitlines()[:2]
    assert header.startswith("Client,Currency,Current,1")
    assert row == "'=Evil Corp,ZAR,0.00,0.00,1035.00,0.00,0.00,1035.00"
    page = agent_client.get("/reports/receivables/").content.decode()
    assert "1,035.00 ZAR" in page and "<svg" in page


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@needs_pdf
def test_pdfs_carry_number_totals_and_business_details(agent_client, agent_user):
    profile = business_profile_get()
    profile.name = "Ubuntu Document Services"
    profile.address = "12 Long Street, Cape Town"
    profile.vat_number = "4123456789"
    profile.bank_details = "FNB account 62000000000, branch 250655"
    profile.save()
    invoice = make_invoice(user=agent_user)
    quote = invoice.quote
    for url, document in (
        (f"/quotes/{quote.pk}/pdf", quote),
        (f"/invoices/{invoice.pk}/pdf", invoice),
    ):
        response = agent_client.get(url)
        assert response["Content-Type"] == "application/pdf"
        text = pdf_text(response.content)
        for expected in (
            document.number,
            "1,035.00 ZAR",
            "Ubuntu Document Services",
            "12 Long Street, Cape Town",
            "VAT number: 4123456789",
            "FNB account 62000000000",
        ):
            assert expected in text, (expected, text)


def test_an_agent_cannot_open_the_business_profile_admin(agent_client):
    assert agent_client.get("/admin/workspace/businessprofile/").status_code == 403


@needs_pdf
def test_the_sent_invoice_email_carries_its_pdf(
    agent_client, agent_user, django_capture_on_commit_callbacks
):
    invoice = make_invoice(user=agent_user, send=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(f"/invoices/{invoice.pk}/", {"action": "send"}, follow=True)
    assert f"Invoice {invoice.number} sent to" in response.content.decode()
    (sent,) = [m for m in mail.outbox if m.subject == f"Invoice {invoice.number}"]
    name, content, mimetype = sent.attachments[0]
    assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
    assert invoice.number in pdf_text(content)


def test_without_a_renderer_the_email_goes_without_a_pdf(
    settings, agent_user, django_capture_on_commit_callbacks
):
    from apps.invoices import services

    settings.DOCUMENT_PDF_RENDERER = ""
    invoice = make_invoice(user=agent_user, send=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.invoice_send(invoice=invoice)
    assert mail.outbox and not mail.outbox[-1].attachments
