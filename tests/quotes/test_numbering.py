"""Gap-free numbers: sequential, rolled back with a failed document, and safe under threads."""

import threading

import pytest
from django.db import connection, transaction

from apps.invoices.models import Invoice
from apps.invoices.services import invoice_create
from apps.quotes.models import DocumentSequence, Quote
from apps.quotes.numbering import sequence_next
from apps.quotes.services import quote_create
from tests.quotes.factories import DocClientFactory


@pytest.mark.django_db
def test_a_rolled_back_document_gives_its_number_back():
    client = DocClientFactory()
    quote_create(created_by=None, client=client)
    with pytest.raises(RuntimeError), transaction.atomic():
        quote_create(created_by=None, client=client)
        raise RuntimeError("the caller's transaction fails after the insert")
    assert quote_create(created_by=None, client=client).number == "Q-000002"
    assert list(Quote.objects.order_by("number").values_list("number", flat=True)) == [
        "Q-000001",
        "Q-000002",
    ]


@pytest.mark.django_db
def test_quotes_and_invoices_have_their_own_sequences():
    client = DocClientFactory()
    assert quote_create(created_by=None, client=client).number == "Q-000001"
    assert invoice_create(client=client).number == "INV-000001"
    assert DocumentSequence.objects.get(kind="invoice").last_value == 1


@pytest.mark.django_db(transaction=True)
def test_a_number_is_taken_only_inside_a_transaction():
    with pytest.raises(RuntimeError):
        sequence_next(kind="quote")


THREADS = 8
PER_THREAD = 25


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_creates_never_duplicate_or_skip_a_number():
    client = DocClientFactory()
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(kind: str) -> None:
        try:
            barrier.wait()
            for _ in range(PER_THREAD):
                if kind == "quote":
                    quote_create(created_by=None, client=client)
                else:
                    invoice_create(client=client)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=("quote" if index % 2 else "invoice",))
        for index in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    half = THREADS // 2 * PER_THREAD
    quotes = sorted(Quote.objects.values_list("number", flat=True))
    invoices = sorted(Invoice.objects.values_list("number", flat=True))
    assert quotes == [f"Q-{value:06d}" for value in range(1, half + 1)]
    assert invoices == [f"INV-{value:06d}" for value in range(1, half + 1)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_creates_of_one_kind_are_gap_free():
    client = DocClientFactory()
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            for index in range(PER_THREAD):
                try:
                    with transaction.atomic():
                        quote_create(created_by=None, client=client)
                        if index % 5 == 4:
                            raise LookupError("roll this one back")
                except LookupError:
                    pass
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kept = THREADS * (PER_THREAD - PER_THREAD // 5)
    numbers = sorted(Quote.objects.values_list("number", flat=True))
    assert numbers == [f"Q-{value:06d}" for value in range(1, kept + 1)]
