"""Reads for clients: lists, search and the case-insensitive e-mail lookup used for matching."""

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from apps.clients.models import Client
from apps.clients.services import client_normalize_email


def client_list(*, active: bool | None = True) -> QuerySet[Client]:
    """Clients by name; `active=None` includes inactive ones."""
    queryset = Client.objects.all()
    if active is not None:
        queryset = queryset.filter(active=active)
    return queryset.order_by("name", "id")


def client_search(*, query: str, active: bool | None = True, limit: int = 20) -> list[Client]:
    """Clients whose name, company, e-mail, phone or mobile contains `query`."""
    query = (query or "").strip()
    if not query:
        return []
    condition = (
        Q(name__icontains=query)
        | Q(company__icontains=query)
        | Q(email__icontains=query)
        | Q(phone__icontains=query)
        | Q(mobile__icontains=query)
    )
    return list(client_list(active=active).filter(condition)[:limit])


def client_find_by_email(*, email: str) -> Client | None:
    """The client with this e-mail, matched case-insensitively; active ones first, then oldest.

    E-mail is not unique by force, so several clients may share one; the choice is stable.
    """
    email = client_normalize_email(email)
    if not email:
        return None
    # lower(email) = lower(value) rather than iexact: PostgreSQL then uses clients_client_email_ci.
    return (
        Client.objects.alias(email_lower=Lower("email"))
        .filter(email_lower=email.lower())
        .order_by("-active", "id")
        .first()
    )
