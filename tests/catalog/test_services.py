"""Catalogue services: services and tax rates through their lifecycle; refusals change nothing."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.catalog.models import Service, TaxRate
from apps.catalog.services import (
    service_create,
    service_deactivate,
    service_reactivate,
    service_update,
    tax_rate_create,
    tax_rate_deactivate,
    tax_rate_reactivate,
    tax_rate_update,
)
from apps.core.errors import ApplicationError
from tests.catalog.factories import ServiceFactory, TaxRateFactory
from tests.clients.factories import snapshot

pytestmark = pytest.mark.django_db


def state():
    return snapshot(Service, TaxRate)


def test_create_service_with_defaults_and_history(admin_role_user):
    vat = TaxRateFactory()
    service = service_create(
        name=" Apostille - DIRCO ",
        rate="950.00",
        sku=" APO-001 ",
        category="Apostille and authentication",
        tax_rate=vat,
        actor=admin_role_user,
    )
    service.refresh_from_db()
    assert (service.name, service.sku, service.unit, service.rate) == (
        "Apostille - DIRCO",
        "APO-001",
        "Each",
        Decimal("950.00"),
    )
    assert service.active is True
    assert service.history.get().history_user == admin_role_user


def test_blank_skus_are_stored_as_null_and_may_repeat():
    first = service_create(name="Consultation", rate=Decimal("350"), sku="  ")
    second = service_create(name="Follow-up call", rate=Decimal("150"))
    assert first.sku is None and second.sku is None


@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"name": "", "rate": "10"}, {"name": ["This field cannot be blank."]}),
        (
            {"name": "X", "rate": "-1"},
            {"rate": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"name": "X", "rate": "abc"}, {"rate": ["“abc” is not a number."]}),
        (
            {"name": "X", "rate": 1.5},
            {"rate": ["Give the amount as text or a Decimal, not a float."]},
        ),
        (
            {"name": "X", "rate": "1.555"},
            {"rate": ["Ensure that there are no more than 2 decimal places."]},
        ),
    ],
)
def test_create_service_refusals_write_nothing(kwargs, errors):
    before = state()
    with pytest.raises(ValidationError) as caught:
        service_create(**kwargs)
    assert caught.value.message_dict == errors
    assert state() == before


def test_a_sku_is_unique_in_any_letter_case():
    ServiceFactory(name="Police clearance", sku="PCC-001")
    before = state()
    with pytest.raises(ValidationError) as caught:
        service_create(name="Another", rate="1", sku="pcc-001")
    assert caught.value.message_dict == {
        "sku": ["SKU “pcc-001” is already used by “Police clearance”."]
    }
    assert state() == before


def test_an_inactive_tax_rate_is_refused_on_create():
    old = TaxRateFactory(name="VAT 14%", rate=Decimal("14"), active=False)
    before = state()
    with pytest.raises(ValidationError) as caught:
        service_create(name="Courier", rate="150", tax_rate=old)
    assert caught.value.message_dict == {"tax_rate": ["Tax rate “VAT 14%” is inactive."]}
    assert state() == before


def test_update_service_and_history_diff(admin_role_user):
    service = ServiceFactory(rate=Decimal("450.00"))
    service_update(
        service=service,
        data={"rate": "495.00", "description": "Per document", "sku": service.sku},
        actor=admin_role_user,
    )
    service.refresh_from_db()
    assert service.rate == Decimal("495.00")
    latest = service.history.first()
    assert latest.history_user == admin_role_user
    assert {c.field for c in latest.diff_against(latest.prev_record).changes} == {
        "rate",
        "description",
    }


def test_update_without_a_difference_writes_nothing():
    service = ServiceFactory(rate=Decimal("450.00"))
    before = state()
    service_update(service=service, data={"rate": "450", "name": f" {service.name} "})
    assert state() == before


def test_update_refusals_write_nothing_and_leave_the_object_alone():
    taken = ServiceFactory(sku="NOT-001", name="Notarial certificate")
    service = ServiceFactory(sku="NOT-002")
    retired = TaxRateFactory(name="Old", rate=Decimal("14"), active=False)
    cases = [
        ({"sku": "not-001"}, {"sku": ["SKU “not-001” is already used by “Notarial certificate”."]}),
        ({"tax_rate": retired}, {"tax_rate": ["Tax rate “Old” is inactive."]}),
        ({"rate": "-5"}, {"rate": ["Ensure this value is greater than or equal to 0."]}),
        ({"active": False}, {"active": ["“active” cannot be set on a service here."]}),
        ({"name": ""}, {"name": ["This field cannot be blank."]}),
    ]
    for data, errors in cases:
        before = state()
        with pytest.raises(ValidationError) as caught:
            service_update(service=service, data=data)
        assert caught.value.message_dict == errors
        assert state() == before
        assert service.sku == "NOT-002" and service.rate == Decimal("450.00") and service.name
    assert taken.sku == "NOT-001"


def test_a_service_keeps_its_now_inactive_tax_rate_on_other_edits():
    rate = TaxRateFactory(name="VAT 14%", rate=Decimal("14"))
    service = ServiceFactory(tax_rate=rate)
    tax_rate_deactivate(tax_rate=rate)
    service_update(service=service, data={"tax_rate": rate, "rate": "500"})
    service.refresh_from_db()
    assert service.rate == Decimal("500.00") and service.tax_rate == rate


def test_deactivate_and_reactivate_service(admin_role_user):
    service = ServiceFactory()
    service_deactivate(service=service, actor=admin_role_user)
    assert Service.objects.get(pk=service.pk).active is False
    assert service.history.first().history_user == admin_role_user
    service_reactivate(service=service, actor=admin_role_user)
    assert Service.objects.get(pk=service.pk).active is True
    assert [record.active for record in service.history.all()] == [True, False, True]


def test_deactivate_twice_and_reactivate_twice_are_refused():
    inactive = ServiceFactory(name="Retired", active=False)
    active = ServiceFactory(name="Current")
    before = state()
    with pytest.raises(ApplicationError) as caught:
        service_deactivate(service=inactive)
    assert caught.value.message == "Service “Retired” is already inactive."
    with pytest.raises(ApplicationError) as caught:
        service_reactivate(service=active)
    assert caught.value.message == "Service “Current” is already active."
    assert state() == before


def test_reactivating_a_service_with_an_inactive_tax_rate_is_refused():
    rate = TaxRateFactory(name="VAT 14%", rate=Decimal("14"), active=False)
    service = ServiceFactory(name="Courier", tax_rate=rate, active=False)
    before = state()
    with pytest.raises(ApplicationError) as caught:
        service_reactivate(service=service)
    assert caught.value.message == (
        "Service “Courier” uses the inactive tax rate “VAT 14%”; choose another tax rate first."
    )
    assert state() == before


def test_tax_rate_lifecycle(admin_role_user):
    rate = tax_rate_create(name=" VAT 15% ", rate="15", actor=admin_role_user)
    assert (rate.name, rate.rate) == ("VAT 15%", Decimal("15"))
    tax_rate_update(tax_rate=rate, data={"rate": "15.500"}, actor=admin_role_user)
    rate.refresh_from_db()
    assert rate.rate == Decimal("15.500")
    tax_rate_deactivate(tax_rate=rate, actor=admin_role_user)
    tax_rate_reactivate(tax_rate=rate, actor=admin_role_user)
    assert [h.history_type for h in rate.history.all()] == ["~", "~", "~", "+"]
    assert {h.history_user for h in rate.history.all()} == {admin_role_user}


@pytest.mark.parametrize(
    ("call", "errors"),
    [
        (
            lambda: tax_rate_create(name="Too much", rate="100.5"),
            {"rate": ["Ensure this value is less than or equal to 100."]},
        ),
        (
            lambda: tax_rate_create(name="Negative", rate="-1"),
            {"rate": ["Ensure this value is greater than or equal to 0."]},
        ),
        (
            lambda: tax_rate_create(name="Four places", rate="7.1255"),
            {"rate": ["Ensure that there are no more than 3 decimal places."]},
        ),
        (
            lambda: tax_rate_create(name="VAT 15%", rate="15"),
            {"name": ["Tax rate with this Name already exists."]},
        ),
        (
            lambda: tax_rate_update(
                tax_rate=TaxRate.objects.get(name="VAT 15%"), data={"rate": "101"}
            ),
            {"rate": ["Ensure this value is less than or equal to 100."]},
        ),
        (
            lambda: tax_rate_update(
                tax_rate=TaxRate.objects.get(name="VAT 15%"), data={"active": False}
            ),
            {"active": ["“active” cannot be set on a tax rate here."]},
        ),
    ],
)
def test_tax_rate_refusals_write_nothing(call, errors):
    TaxRateFactory(name="VAT 15%")
    before = state()
    with pytest.raises(ValidationError) as caught:
        call()
    assert caught.value.message_dict == errors
    assert state() == before


def test_tax_rate_deactivate_twice_and_reactivate_twice_are_refused():
    retired = TaxRateFactory(name="Zero-rated", rate=Decimal("0"), active=False)
    current = TaxRateFactory(name="Exempt", rate=Decimal("0"))
    before = state()
    with pytest.raises(ApplicationError) as caught:
        tax_rate_deactivate(tax_rate=retired)
    assert caught.value.message == "Tax rate “Zero-rated” is already inactive."
    with pytest.raises(ApplicationError) as caught:
        tax_rate_reactivate(tax_rate=current)
    assert caught.value.message == "Tax rate “Exempt” is already active."
    assert state() == before
