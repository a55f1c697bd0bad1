"""Roles over the whole schema: an Agent gets 403 on every Admin-only operation (its summary says
"(Admins)") and on no other; an Admin on none."""

import re

import pytest

from apps.invoices import services as invoice_services
from apps.quotes import services as quote_services
from apps.tickets import services as ticket_services
from tests.catalog.factories import TaxRateFactory
from tests.quotes.factories import DocClientFactory, DocServiceFactory, make_quote

pytestmark = pytest.mark.django_db

ADMIN_ONLY = re.compile(r"\(Admins\)")


def records(user) -> dict[str, int]:
    """One record per collection, so every {id} in the schema names something real."""
    client = DocClientFactory()
    service = DocServiceFactory()
    tax_rate = TaxRateFactory()
    ticket = ticket_services.ticket_open(client=client, subject="Help", created_by=user)
    quote = quote_services.quote_send(quote=make_quote(user=user, client=client))
    invoice = invoice_services.invoice_send(
        invoice=invoice_services.invoice_create_from_quote(
            quote=quote_services.quote_accept(quote=quote), created_by=user
        )
    )
    payment = invoice_services.payment_record(invoice=invoice, amount="1.00")
    return {
        "clients": client.pk,
        "services": service.pk,
        "tax-rates": tax_rate.pk,
        "tickets": ticket.pk,
        "quotes": make_quote(user=user, client=client).pk,
        "invoices": invoice.pk,
        "payments": payment.pk,
    }


def operations(api) -> list[tuple[str, str, str]]:
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    found = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method in ("get", "post", "patch", "put", "delete"):
                found.append((path, method, operation.get("summary", "")))
    return found


def url(path: str, ids: dict[str, int]) -> str:
    collection = path.removeprefix("/api/v1/").split("/", 1)[0]
    return path.replace("{id}", str(ids.get(collection, 1)))


def test_agents_get_403_on_exactly_the_admin_only_operations(agent_api, agent_user):
    ids = records(agent_user)
    found = operations(agent_api)
    admin_only = [(path, method) for path, method, summary in found if ADMIN_ONLY.search(summary)]
    assert ("/api/v1/invoices/{id}/void/", "post") in admin_only
    assert ("/api/v1/services/", "post") in admin_only
    for path, method, summary in found:
        response = getattr(agent_api, method)(url(path, ids), {}, format="json")
        if ADMIN_ONLY.search(summary):
            assert response.status_code == 403, (method, path, response.status_code)
        else:
            assert response.status_code != 403, (method, path, response.content)


def test_admins_are_refused_nothing(admin_api, admin_role_user):
    ids = records(admin_role_user)
    for path, method, _summary in operations(admin_api):
        response = getattr(admin_api, method)(url(path, ids), {}, format="json")
        assert response.status_code != 403, (method, path, response.content)
