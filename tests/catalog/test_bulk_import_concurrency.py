"""Two imports of one new SKU at the same time: the second is refused on its row, not a 500."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from apps.catalog.models import Service
from apps.catalog.services import services_import


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sku_taken_meanwhile_is_refused_on_its_row():
    inserted, committed = threading.Event(), threading.Event()
    outcome: dict = {}

    def first():
        try:
            with transaction.atomic():
                services_import(new=[{"name": "First", "rate": "1", "sku": "RACE-1"}], changed=[])
                inserted.set()
                committed.wait(5)  # hold the row until the second import is blocked on it
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert inserted.wait(10)
    # The first import's row is not committed: the check passes, the insert then waits on the
    # unique index until the first commits, and fails.
    threading.Timer(1.0, committed.set).start()
    with pytest.raises(ValidationError) as error:
        services_import(new=[{"name": "Second", "rate": "1", "sku": "race-1"}], changed=[])
    thread.join(10)
    outcome["error"] = error.value.message_dict
    assert outcome["error"] == {"new[0].sku": ["This SKU was just taken by another service."]}
    assert list(Service.objects.values_list("name", flat=True)) == ["First"]
