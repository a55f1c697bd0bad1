"""A SKU is unique in any letter case, in the database too, and a clash is always a refusal on
the `sku` field: never an IntegrityError, even when another writer takes the SKU mid-save."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

import apps.catalog.services as catalog_services
from apps.catalog.models import Service, TaxRate
from apps.catalog.services import service_create, service_update
from tests.catalog.factories import ServiceFactory
from tests.clients.factories import snapshot

pytestmark = pytest.mark.django_db


def state():
    return snapshot(Service, TaxRate)


def test_the_database_refuses_a_sku_in_another_letter_case():
    Service.objects.create(name="First", rate=Decimal("1"), sku="APO-001")
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.create(name="Second", rate=Decimal("1"), sku="apo-001")


def test_the_database_lets_many_services_have_no_sku():
    for name in ("One", "Two", "Three"):
        Service.objects.create(name=name, rate=Decimal("1"), sku=None)
    assert Service.objects.filter(sku__isnull=True).count() == 3


def _taken_meanwhile(monkeypatch, *, sku: str, past_the_model_check: bool) -> None:
    """Another writer saves a service with `sku` right after the service's own SKU check;
    with `past_the_model_check`, after full_clean too, so only the database can refuse."""
    real_check = catalog_services.service_check_sku_available
    calls = []

    def check_then_lose_the_race(**kwargs):
        real_check(**kwargs)
        if not calls:
            calls.append(1)
            Service.objects.create(name="Quicker colleague", rate=Decimal("1"), sku=sku)

    monkeypatch.setattr(catalog_services, "service_check_sku_available", check_then_lose_the_race)
    if past_the_model_check:
        monkeypatch.setattr(Service, "validate_constraints", lambda self, **kwargs: None)


@pytest.mark.parametrize("past_the_model_check", [False, True])
def test_create_refuses_a_sku_taken_meanwhile_on_the_sku_field(monkeypatch, past_the_model_check):
    before = state()
    _taken_meanwhile(monkeypatch, sku="COURIER-1", past_the_model_check=past_the_model_check)
    with pytest.raises(ValidationError) as caught:
        service_create(name="Courier", rate="150", sku="courier-1")
    assert caught.value.message_dict == {
        "sku": ["SKU “courier-1” is already used by “Quicker colleague”."]
    }
    assert state() == before


@pytest.mark.parametrize("past_the_model_check", [False, True])
def test_update_refuses_a_sku_taken_meanwhile_and_leaves_the_object(
    monkeypatch, past_the_model_check
):
    service = ServiceFactory(sku="OLD-1")
    before = state()
    _taken_meanwhile(monkeypatch, sku="NEW-1", past_the_model_check=past_the_model_check)
    with pytest.raises(ValidationError) as caught:
        service_update(service=service, data={"sku": "new-1"})
    assert caught.value.message_dict == {
        "sku": ["SKU “new-1” is already used by “Quicker colleague”."]
    }
    assert service.sku == "OLD-1"
    assert state() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_writers_racing_for_one_sku_get_one_service_and_one_refusal():
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def write(sku: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(service_create(name=f"Writer {sku}", rate="10", sku=sku))
        except ValidationError as error:
            outcomes.append(error.message_dict)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(sku,)) for sku in ("RACE-1", "race-1")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert Service.objects.filter(sku__iexact="race-1").count() == 1
    refusals = [outcome for outcome in outcomes if isinstance(outcome, dict)]
    assert len(outcomes) == 2 and len(refusals) == 1
    (refusal,) = refusals
    assert list(refusal) == ["sku"] and "is already used by" in refusal["sku"][0]
