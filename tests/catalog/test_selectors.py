"""Catalogue reads: active services, lookup by SKU, categories."""

import pytest

from apps.catalog.selectors import (
    service_categories,
    service_get_by_sku,
    service_list_active,
    tax_rate_list_active,
)
from tests.catalog.factories import ServiceFactory, TaxRateFactory

pytestmark = pytest.mark.django_db


def test_active_services_with_tax_rate_in_one_query(django_assert_num_queries):
    ServiceFactory.create_batch(5, category="Courier")
    ServiceFactory(category="Notary", active=False)
    with django_assert_num_queries(1):
        services = list(service_list_active())
        rates = [service.tax_rate.rate for service in services]
    assert len(services) == len(rates) == 5
    assert service_list_active(category="Notary").count() == 0
    assert service_categories() == ["Courier"]


def test_get_by_sku_matches_case_insensitively():
    service = ServiceFactory(sku="HA-UBC-01")
    assert service_get_by_sku(sku=" ha-ubc-01 ") == service
    assert service_get_by_sku(sku="HA-UBC-02") is None
    assert service_get_by_sku(sku="") is None


def test_tax_rate_list_active():
    TaxRateFactory(name="VAT 15%")
    TaxRateFactory(name="Old VAT 14%", active=False)
    assert [rate.name for rate in tax_rate_list_active()] == ["VAT 15%"]
