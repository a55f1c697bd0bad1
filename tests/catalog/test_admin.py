"""Catalogue admin: admins edit through the services, agents only look."""

from decimal import Decimal

import pytest

from apps.catalog.models import Service, TaxRate
from tests.catalog.factories import ServiceFactory, TaxRateFactory
from tests.clients.test_admin import count_changelist_queries

pytestmark = pytest.mark.django_db

SERVICES = "/admin/catalog/service/"
TAX_RATES = "/admin/catalog/taxrate/"


def test_service_pages_open_and_search(admin_client_mfa):
    service = ServiceFactory(name="Police clearance certificate", sku="PCC-001")
    ServiceFactory(name="Courier - national")
    assert admin_client_mfa.get(SERVICES).status_code == 200
    found = admin_client_mfa.get(SERVICES, {"q": "pcc-001"})
    assert list(found.context["cl"].result_list) == [service]
    assert admin_client_mfa.get(f"{SERVICES}add/").status_code == 200
    assert admin_client_mfa.get(f"{SERVICES}{service.pk}/change/").status_code == 200
    assert admin_client_mfa.get(f"{SERVICES}{service.pk}/history/").status_code == 200
    assert admin_client_mfa.get(SERVICES, {"category": "Notary"}).status_code == 200


def test_tax_rate_pages_open_and_search(admin_client_mfa):
    rate = TaxRateFactory(name="VAT 15%")
    assert admin_client_mfa.get(TAX_RATES).status_code == 200
    found = admin_client_mfa.get(TAX_RATES, {"q": "VAT"})
    assert list(found.context["cl"].result_list) == [rate]
    assert admin_client_mfa.get(f"{TAX_RATES}add/").status_code == 200
    assert admin_client_mfa.get(f"{TAX_RATES}{rate.pk}/change/").status_code == 200
    autocomplete = admin_client_mfa.get(
        "/admin/autocomplete/",
        {"app_label": "catalog", "model_name": "service", "field_name": "tax_rate", "term": "VAT"},
    )
    assert [row["text"] for row in autocomplete.json()["results"]] == [str(rate)]


def test_add_and_change_service_through_the_services(admin_client_mfa, admin_with_mfa):
    rate = TaxRateFactory()
    response = admin_client_mfa.post(
        f"{SERVICES}add/",
        {
            "name": "Apostille - High Court",
            "sku": " APO-HC ",
            "category": "Apostille and authentication",
            "rate": "850.00",
            "unit": "Document",
            "tax_rate": rate.pk,
        },
    )
    assert response.status_code == 302, response.content[:3000]
    service = Service.objects.get(sku="APO-HC")
    assert service.history.get().history_user == admin_with_mfa
    response = admin_client_mfa.post(
        f"{SERVICES}{service.pk}/change/",
        {
            "name": "Apostille - High Court",
            "sku": "APO-HC",
            "category": "Apostille and authentication",
            "rate": "895.00",
            "unit": "Document",
            "tax_rate": rate.pk,
        },
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.rate == Decimal("895.00")
    assert service.history.first().history_user == admin_with_mfa


def test_service_form_shows_the_services_refusals(admin_client_mfa):
    ServiceFactory(name="Existing", sku="DUP-1")
    retired = TaxRateFactory(name="Old VAT", rate=Decimal("14"), active=False)
    before = Service.objects.count()
    response = admin_client_mfa.post(
        f"{SERVICES}add/",
        {
            "name": "New",
            "sku": "dup-1",
            "category": "General",
            "rate": "1",
            "unit": "Each",
            "tax_rate": retired.pk,
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {
        "sku": ["SKU “dup-1” is already used by “Existing”."],
        "tax_rate": ["Tax rate “Old VAT” is inactive."],
    }
    assert Service.objects.count() == before


def test_add_and_change_tax_rate(admin_client_mfa, admin_with_mfa):
    assert (
        admin_client_mfa.post(f"{TAX_RATES}add/", {"name": "VAT 15%", "rate": "15"}).status_code
        == 302
    )
    rate = TaxRate.objects.get(name="VAT 15%")
    response = admin_client_mfa.post(
        f"{TAX_RATES}{rate.pk}/change/", {"name": "VAT", "rate": "15.5"}
    )
    assert response.status_code == 302
    rate.refresh_from_db()
    assert (rate.name, rate.rate) == ("VAT", Decimal("15.500"))
    assert {h.history_user for h in rate.history.all()} == {admin_with_mfa}
    too_high = admin_client_mfa.post(
        f"{TAX_RATES}{rate.pk}/change/", {"name": "VAT", "rate": "150"}
    )
    assert too_high.context["adminform"].form.errors["rate"] == [
        "Ensure this value is less than or equal to 100."
    ]


def test_service_and_tax_rate_actions(admin_client_mfa):
    rate = TaxRateFactory()
    services = ServiceFactory.create_batch(2, tax_rate=rate)
    ids = [s.pk for s in services]
    admin_client_mfa.post(SERVICES, {"action": "deactivate", "_selected_action": ids})
    assert Service.objects.filter(active=True).count() == 0
    admin_client_mfa.post(TAX_RATES, {"action": "deactivate", "_selected_action": [rate.pk]})
    assert TaxRate.objects.get().active is False
    response = admin_client_mfa.post(
        SERVICES, {"action": "reactivate", "_selected_action": ids}, follow=True
    )
    refusals = [str(m) for m in response.context["messages"] if "inactive tax rate" in str(m)]
    assert len(refusals) == 2
    assert not any(m.startswith("Reactivated") for m in map(str, response.context["messages"]))
    assert Service.objects.filter(active=True).count() == 0
    admin_client_mfa.post(TAX_RATES, {"action": "reactivate", "_selected_action": [rate.pk]})
    admin_client_mfa.post(SERVICES, {"action": "reactivate", "_selected_action": ids})
    assert Service.objects.filter(active=True).count() == 2


def test_agents_see_the_catalogue_but_cannot_change_it(agent_client):
    service = ServiceFactory(name="Notarial certificate", rate=Decimal("450.00"))
    page = agent_client.get(SERVICES)
    assert page.status_code == 200
    assert "deactivate" not in dict(page.context["cl"].model_admin.get_actions(page.wsgi_request))
    assert agent_client.get(f"{SERVICES}add/").status_code == 403
    assert agent_client.get(TAX_RATES).status_code == 200
    assert agent_client.get(f"{TAX_RATES}add/").status_code == 403
    view = agent_client.get(f"{SERVICES}{service.pk}/change/")
    assert view.status_code == 200 and view.context["has_change_permission"] is False
    agent_client.post(
        f"{SERVICES}{service.pk}/change/",
        {"name": "Cheaper", "category": "Notary", "rate": "1.00", "unit": "Each"},
    )
    agent_client.post(SERVICES, {"action": "deactivate", "_selected_action": [service.pk]})
    service.refresh_from_db()
    assert (service.name, service.rate, service.active) == (
        "Notarial certificate",
        Decimal("450.00"),
        True,
    )


@pytest.mark.parametrize("url", [SERVICES, TAX_RATES])
def test_changelist_query_count_is_flat_from_10_to_1000_rows(admin_client_mfa, url):
    rates = TaxRate.objects.bulk_create(
        TaxRate(name=f"Rate {i}", rate=Decimal(i)) for i in range(10)
    )
    Service.objects.bulk_create(
        Service(
            name=f"Service {i}", rate=Decimal("10"), tax_rate=rates[i % 10], category=f"C{i % 5}"
        )
        for i in range(10)
    )
    small = count_changelist_queries(admin_client_mfa, url)
    TaxRate.objects.bulk_create(TaxRate(name=f"More {i}", rate=Decimal(1)) for i in range(990))
    all_rates = list(TaxRate.objects.all())
    Service.objects.bulk_create(
        Service(name=f"More {i}", rate=Decimal("10"), tax_rate=all_rates[i], category=f"C{i % 5}")
        for i in range(990)
    )
    assert count_changelist_queries(admin_client_mfa, url) == small
    assert small <= 12


def test_a_sku_taken_between_form_check_and_save_is_a_form_error(admin_client_mfa, monkeypatch):
    """Another user saves the same SKU after the form checked it: an error, not a 500."""
    import apps.catalog.admin as catalog_admin
    from apps.catalog.services import service_create

    def create_after_a_rival(**data):
        ServiceFactory(sku="apo-race")  # the rival's save lands first, in another letter case
        return service_create(**data)

    monkeypatch.setattr(catalog_admin, "service_create", create_after_a_rival)
    response = admin_client_mfa.post(
        f"{SERVICES}add/",
        {
            "name": "Apostille - race",
            "sku": "APO-RACE",
            "category": "Apostille and authentication",
            "rate": "850.00",
            "unit": "Each",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["sku"]
    # The admin's transaction rolled back the whole attempt, the rival's row included.
    assert not Service.objects.filter(name="Apostille - race").exists()
