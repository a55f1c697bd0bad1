"""Every staff page answers an Agent, and its query count stays flat as rows grow."""

import pytest
from django.urls import reverse

from apps.quotes import services as quote_services
from tests.quotes.factories import DocClientFactory, DocServiceFactory
from tests.workspace.helpers import make_invoice, make_ticket

pytestmark = pytest.mark.django_db


def page_queries(client, url, django_assert_max_num_queries, budget):
    with django_assert_max_num_queries(budget) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(captured.captured_queries), response


def flat(client, url, grow, django_assert_max_num_queries, budget=25):
    """Queries for `url` before and after `grow()` adds rows: the same count (after one warm-up
    request: the first fills the content-type cache)."""
    client.get(url())
    before, _ = page_queries(client, url(), django_assert_max_num_queries, budget)
    grow()
    after, response = page_queries(client, url(), django_assert_max_num_queries, budget)
    assert after == before, (before, after)
    return response


def test_home_is_flat(agent_client, agent_user, django_assert_max_num_queries):
    make_ticket(user=agent_user)
    make_invoice(user=agent_user)

    def grow():
        for _ in range(4):
            make_ticket(user=agent_user)
            make_invoice(user=agent_user)

    response = flat(agent_client, lambda: "/", grow, django_assert_max_num_queries)
    assert b"My open tickets" in response.content


def test_ticket_queue_is_flat(agent_client, agent_user, django_assert_max_num_queries):
    make_ticket(user=agent_user)
    response = flat(
        agent_client,
        lambda: "/tickets/?scope=mine",
        lambda: [make_ticket(user=agent_user) for _ in range(5)],
        django_assert_max_num_queries,
    )
    assert b"Apostille for Spain" in response.content


def test_ticket_page_is_flat(agent_client, agent_user, django_assert_max_num_queries):
    ticket = make_ticket(user=agent_user, messages=2)

    def grow():
        from apps.tickets import services

        for index in range(5):
            services.ticket_receive_message(ticket=ticket, body=f"more {index}")
            services.ticket_add_note(ticket=ticket, author=agent_user, body=f"note {index}")

    response = flat(
        agent_client, lambda: f"/tickets/{ticket.pk}/", grow, django_assert_max_num_queries
    )
    assert b"Raise quote" in response.content


def test_quote_pages_are_flat(agent_client, agent_user, django_assert_max_num_queries):
    quote = quote_services.quote_create(created_by=agent_user, client=DocClientFactory())
    quote_services.quote_line_add(quote=quote, service=DocServiceFactory())

    def grow():
        for _ in range(5):
            quote_services.quote_line_add(quote=quote, service=DocServiceFactory())

    response = flat(
        agent_client, lambda: f"/quotes/{quote.pk}/", grow, django_assert_max_num_queries
    )
    assert b"Save and send" in response.content
    quote_services.quote_send(quote=quote)
    sent = flat(
        agent_client,
        lambda: f"/quotes/{quote.pk}/",
        grow_nothing := (lambda: None),
        django_assert_max_num_queries,
    )
    assert b"Accept" in sent.content and grow_nothing() is None


def test_invoice_page_is_flat(agent_client, agent_user, django_assert_max_num_queries):
    from decimal import Decimal

    from apps.invoices import services

    invoice = make_invoice(user=agent_user, paid=Decimal("10.00"))

    def grow():
        for _ in range(4):
            services.payment_record(invoice=invoice, amount="1.00", recorded_by=agent_user)

    response = flat(
        agent_client, lambda: f"/invoices/{invoice.pk}/", grow, django_assert_max_num_queries
    )
    assert b"Record payment" in response.content


def test_client_timeline_is_flat(agent_client, agent_user, django_assert_max_num_queries):
    client = DocClientFactory()
    make_invoice(user=agent_user, client=client)
    make_ticket(user=agent_user, client=client)

    def grow():
        for _ in range(3):
            make_invoice(user=agent_user, client=client)
            make_ticket(user=agent_user, client=client)

    response = flat(
        agent_client, lambda: f"/clients/{client.pk}/", grow, django_assert_max_num_queries
    )
    assert b"Timeline" in response.content


def test_receivables_is_flat(agent_client, agent_user, django_assert_max_num_queries):
    make_invoice(user=agent_user)
    response = flat(
        agent_client,
        lambda: "/reports/receivables/",
        lambda: [make_invoice(user=agent_user) for _ in range(4)],
        django_assert_max_num_queries,
    )
    assert b"Receivables by age" in response.content


def test_search_is_flat(agent_client, agent_user, django_assert_max_num_queries):
    make_invoice(user=agent_user, client=DocClientFactory(name="Naledi Dlamini"))
    response = flat(
        agent_client,
        lambda: "/search/?q=Naledi",
        lambda: [
            make_invoice(user=agent_user, client=DocClientFactory(name=f"Naledi {n}"))
            for n in range(3)
        ],
        django_assert_max_num_queries,
    )
    assert b"Naledi Dlamini" in response.content


def test_sync_dashboard_is_for_admins_only(agent_client, client, admin_with_mfa):
    assert agent_client.get(reverse("workspace:sync")).status_code == 403
    client.force_login(admin_with_mfa)
    assert client.get(reverse("workspace:sync")).status_code == 200


def test_pages_need_a_login(client):
    response = client.get("/tickets/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_sync_dashboard_is_flat_and_speaks_plain_words(
    client, admin_with_mfa, django_assert_max_num_queries
):
    import datetime

    from django.utils import timezone

    from apps.sync.models import Connection, Credential, SyncLog

    credential = Credential.objects.create(
        vendor="zoho",
        token_ciphertext="",
        access_expires_at=timezone.now() + datetime.timedelta(minutes=23, seconds=10),
    )
    connection = Connection.objects.create(
        provider="zoho_books", name="Books", remote_account_id="1", credential=credential
    )
    SyncLog.objects.create(
        connection=connection, method="GET", url="/x", status_code=200, latency_ms=120
    )
    client.force_login(admin_with_mfa)

    def grow():
        SyncLog.objects.bulk_create(
            SyncLog(
                connection=connection,
                method="GET",
                url="/x",
                status_code=500 if n % 4 == 0 else 200,
                latency_ms=100 + n,
            )
            for n in range(50)
        )

    response = flat(client, lambda: "/sync/", grow, django_assert_max_num_queries)
    html = response.content.decode()
    assert "Token expires in 23 minutes" in html
    assert "of 51 calls succeeded" in html and "<polyline" in html


@pytest.mark.parametrize(
    "url",
    [
        "/tickets/",
        "/tickets/1/",
        "/quotes/new/",
        "/quotes/1/",
        "/quotes/1/pdf",
        "/invoices/1/",
        "/invoices/1/pdf",
        "/clients/1/",
        "/reports/receivables/",
        "/sync/",
    ],
)
def test_a_user_without_a_role_gets_403(client, url):
    from apps.users.models import User

    user = User.objects.create_user(email="norole@example.com", password="x-long-password-1")
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get(url).status_code == 403
