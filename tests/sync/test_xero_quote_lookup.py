"""Quotes looked up many at once (connectors/xero/batches.py): Xero documents no `where` on
GET /Quotes, so the answer to one is checked; when it holds quotes not asked for, or a further
page, the filter was not applied and each number is asked for by QuoteNumber= instead. The
sandbox applies `where` (test_xero_batched_documents.py covers that path over HTTP); Xero
ignoring it cannot be reached there, so this side of the boundary is a stand-in."""

from apps.sync.connectors.xero.batches import find_many
from apps.sync.engine.records import Page, RemoteRecord


def quote(number: str, status: str = "SENT") -> RemoteRecord:
    return RemoteRecord(
        remote_id=f"id-{number}",
        number=number,
        modified_at=None,
        data={"QuoteNumber": number, "Status": status},
    )


class QuotesEndpoint:
    """GET /Quotes as Xero might answer it: with `where` applied or ignored."""

    def __init__(self, quotes: list[RemoteRecord], *, applies_where: bool) -> None:
        self.quotes = quotes
        self.applies_where = applies_where
        self.calls: list[tuple[str, str]] = []

    def list_page(self, resource: str, *, where: str = "", page: int = 1) -> Page:
        self.calls.append(("where", where))
        if not self.applies_where:  # page one of every quote (two a page here), more to come
            return Page(records=self.quotes[:2], next_page=2)
        return Page(records=[q for q in self.quotes if f'"{q.number}"' in where])

    def find_by_reference(self, resource: str, number: str) -> RemoteRecord | None:
        self.calls.append(("QuoteNumber", number))
        return next((q for q in self.quotes if q.number == number), None)


def test_a_where_xero_applies_finds_many_quotes_in_one_call():
    endpoint = QuotesEndpoint(
        [quote("QU-1"), quote("QU-2"), quote("QU-3", "DELETED"), quote("QU-9")],
        applies_where=True,
    )

    found = find_many(endpoint, "quotes", ["QU-1", "QU-2", "QU-3", "QU-4"])

    assert [r.number if r else None for r in found] == ["QU-1", "QU-2", None, None]
    assert [kind for kind, _ in endpoint.calls] == ["where"]
    assert endpoint.calls[0][1] == (
        'QuoteNumber=="QU-1" OR QuoteNumber=="QU-2" OR QuoteNumber=="QU-3" OR QuoteNumber=="QU-4"'
    )


def test_a_where_xero_ignored_falls_back_to_one_quote_number_each_and_misses_none():
    # QU-2 is not on the first page of everything: taken as "not there", it would be resent.
    endpoint = QuotesEndpoint([quote("QU-1"), quote("QU-7"), quote("QU-2")], applies_where=False)

    found = find_many(endpoint, "quotes", ["QU-1", "QU-2", "QU-4"])

    assert [r.number if r else None for r in found] == ["QU-1", "QU-2", None]
    assert endpoint.calls[1:] == [
        ("QuoteNumber", "QU-1"),
        ("QuoteNumber", "QU-2"),
        ("QuoteNumber", "QU-4"),
    ]
