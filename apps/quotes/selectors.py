"""Reads of quotes: what the admin lists and the printable page need, with their joins decided."""

from django.db.models import QuerySet

from apps.quotes.models import Quote


def quote_list() -> QuerySet[Quote]:
    return Quote.objects.select_related("client", "created_by")


def quote_get_for_print(*, quote_id: int) -> Quote:
    return (
        Quote.objects.select_related("client", "created_by")
        .prefetch_related("lines")
        .get(pk=quote_id)
    )
