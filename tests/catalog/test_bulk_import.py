"""services_import and tax_rates_import: the catalogue's checks, for a whole batch at once."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.catalog.models import Service, TaxRate
from apps.catalog.services import services_import, tax_rates_import
from tests.catalog.factories import ServiceFactory, TaxRateFactory
from tests.clients.factories import snapshot

pytestmark = pytest.mark.django_db


def test_skus_are_unique_in_any_case_across_the_batch_and_the_database():
    holder = ServiceFactory(sku="PCC-1")
    mover = ServiceFactory(sku="OLD-1")
    before = snapshot(Service)
    with pytest.raises(ValidationError) as error:
        services_import(
            new=[
                {"name": "A", "rate": "1", "sku": "pcc-1"},
                {"name": "B", "rate": "1", "sku": "new-1"},
                {"name": "C", "rate": "1", "sku": "NEW-1"},
            ],
            changed=[(mover, {"sku": "old-2"})],
        )
    assert error.value.message_dict == {
        "new[0].sku": ["SKU “pcc-1” is already used by another service."],
        "new[2].sku": ["SKU “NEW-1” is already used by another service."],
    }
    assert snapshot(Service) == before
    # A service may take a SKU another one gives up in the same batch.
    created, updated = services_import(
        new=[{"name": "D", "rate": "2.50", "sku": "old-1"}],
        changed=[(mover, {"sku": "OLD-2"}), (holder, {"rate": Decimal("9")})],
    )
    assert [s.sku for s in created] == ["old-1"] and {s.sku for s in updated} == {"OLD-2", "PCC-1"}
    assert Service.objects.get(sku="OLD-2").history.first().history_type == "~"


def test_tax_rates_by_name_once(admin_role_user):
    vat = TaxRateFactory(name="VAT", rate=Decimal("15"))
    with pytest.raises(ValidationError) as error:
        tax_rates_import(new=[{"name": "vat", "rate": "14"}, {"name": "Zero"}], changed=[])
    assert error.value.message_dict == {
        "new[0].name": ["Tax rate “vat” already exists."],
        "new[1].rate": ["A rate is required."],
    }
    created, updated = tax_rates_import(
        new=[{"name": "Zero", "rate": "0"}],
        changed=[(vat, {"rate": "15.5"})],
        actor=admin_role_user,
    )
    assert [rate.name for rate in created] == ["Zero"] and updated == [vat]
    assert TaxRate.objects.get(name="VAT").rate == Decimal("15.500")
    assert TaxRate.history.filter(history_user=admin_role_user).count() == 2
