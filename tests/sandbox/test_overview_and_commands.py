"""The /sandbox/ page (who may see it, what it shows) and `manage.py sandbox`."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from apps.sandbox import faults
from apps.sandbox.zoho.models import BooksContact, BooksInvoice, CrmRecord, ZohoOrganization

pytestmark = pytest.mark.django_db


def _sandbox(*args) -> list[dict]:
    out = StringIO()
    call_command("sandbox", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


def test_seed_prints_a_usable_refresh_token_and_organization(client):
    lines = _sandbox(
        "seed", "--contacts", "12", "--items", "3", "--org-name", "Demo Org", "--skip-xero"
    )
    [zoho] = [line for line in lines if line.get("vendor") == "zoho"]
    organization = ZohoOrganization.objects.get(organization_id=zoho["organization_id"])
    assert organization.name == "Demo Org"
    assert BooksContact.objects.filter(organization=organization).count() == 12
    assert BooksInvoice.objects.filter(organization=organization).exists()
    assert CrmRecord.objects.filter(organization=organization, module="Deals").count() == 10
    from apps.sandbox.zoho.accounts import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

    minted = client.post(
        "/sandbox/zoho/accounts/oauth/v2/token",
        {
            "grant_type": "refresh_token",
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
            "refresh_token": zoho["refresh_token"],
        },
    ).json()
    assert minted["expires_in"] == 3600
    # Seeding again tops up instead of duplicating, and hands out another token.
    again = _sandbox("seed", "--contacts", "15", "--org-name", "Demo Org", "--skip-xero")
    assert again[0]["organization_id"] == zoho["organization_id"]
    assert again[0]["refresh_token"] != zoho["refresh_token"]
    assert BooksContact.objects.filter(organization=organization).count() == 15


def test_token_subcommand_and_reset():
    _sandbox("seed", "--contacts", "2", "--skip-xero")
    [token] = _sandbox("token", "zoho")
    assert token["refresh_token"].startswith("1000.") and token["organization_id"]
    call_command("sandbox", "reset", stdout=StringIO())
    assert not ZohoOrganization.objects.exists()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="sandbox seed"):
        call_command("sandbox", "token", "zoho", stdout=StringIO())


def test_fault_subcommand_sets_and_clears_a_plan():
    call_command("sandbox", "fault", "zoho", "42", "--error-share", "0.5", stdout=StringIO())
    assert faults.fault_plan_get("zoho", "42").error_share == 0.5
    call_command("sandbox", "fault", "zoho", "42", "--clear", stdout=StringIO())
    assert faults.fault_plan_get("zoho", "42") is None


def test_overview_needs_an_admin(client, django_user_model, agent_user, admin_with_mfa):
    _sandbox("seed", "--contacts", "2", "--org-name", "Hidden Org", "--skip-xero")
    assert client.get("/sandbox/").status_code == 302
    outsider = django_user_model.objects.create_user(email="out@example.com", password="x")
    client.force_login(outsider)
    assert client.get("/sandbox/").status_code == 403
    client.force_login(agent_user)  # staff, but an Agent: clients' e-mails are not theirs to list
    assert client.get("/sandbox/").status_code == 403
    client.force_login(admin_with_mfa)
    assert client.get("/sandbox/").status_code == 200


def test_overview_shows_each_organization_its_records_and_faults(client, admin_with_mfa):
    _sandbox("seed", "--contacts", "4", "--org-name", "Shown Org", "--skip-xero")
    organization = ZohoOrganization.objects.get(name="Shown Org")
    faults.fault_plan_set(vendor="zoho", account=organization.organization_id, error_share=0.25)
    client.force_login(admin_with_mfa)
    page = client.get("/sandbox/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Shown Org" in text and organization.organization_id in text
    assert "0.25 of calls answer 503" in text
    assert BooksContact.objects.filter(organization=organization).first().contact_name in text


@override_settings(DEBUG=True)
def test_overview_stays_closed_to_anonymous_visitors_under_debug(client, agent_user):
    """Issue 11, item 10: under DEBUG anyone saw the seeded clients' names and e-mails."""
    _sandbox("seed", "--contacts", "3", "--org-name", "Debug Org", "--skip-xero")
    contact = BooksContact.objects.first()
    page = client.get("/sandbox/")
    assert page.status_code == 302
    assert contact.email not in page.content.decode()
    client.force_login(agent_user)
    page = client.get("/sandbox/")
    assert page.status_code == 403
    assert contact.contact_name not in page.content.decode()


def test_overview_query_count_does_not_grow_with_records(
    client, admin_with_mfa, django_assert_max_num_queries
):
    client.force_login(admin_with_mfa)
    _sandbox("seed", "--contacts", "3", "--org-name", "One", "--skip-xero")
    with django_assert_max_num_queries(40) as few:
        assert client.get("/sandbox/").status_code == 200
    _sandbox("seed", "--contacts", "30", "--org-name", "One", "--skip-xero")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/sandbox/")
