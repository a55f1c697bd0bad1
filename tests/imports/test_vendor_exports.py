"""A business moving from Zoho Books or Xero imports the contact export it downloaded there,
as it is: Zoho's and Xero's own column names are read, the rest is listed as not read."""

from pathlib import Path

import pytest

from apps.clients.models import Client
from apps.imports.services import import_run

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "files"


def test_zoho_books_contacts_export_as_it_is(admin_role_user):
    outcome = import_run(
        entity_name="clients",
        content=(FILES / "zoho_books_contacts.csv").read_bytes(),
        file_name="Contacts.csv",
        actor=admin_role_user,
    )
    assert outcome.written, outcome.summary()
    assert outcome.summary()["created"] == 3
    thandeka = Client.objects.get(email="Thandeka@mokoena-law.co.za")
    assert (
        thandeka.name,
        thandeka.company,
        thandeka.phone,
        thandeka.mobile,
        thandeka.tax_number,
        thandeka.notes,
    ) == (
        "Thandeka Mokoena",
        "Mokoena Attorneys Inc.",
        "+27 11 555 0142",
        "+27 82 555 0199",
        "4120187654",
        "Prefers e-mail",
    )
    assert thandeka.billing_address == (
        "12 Fox Street\nSuite 4\nJohannesburg\nGauteng\n2001\nSouth Africa"
    )
    zoe = Client.objects.get(email="zoe@cafendlovu.co.za")
    assert (zoe.name, zoe.company) == ("Zoë Müller-Ndlovu", "Café Ndlovu (Pty) Ltd")
    # Columns we have no field for are reported, not guessed at.
    assert {"Contact ID", "Shipping Address", "Currency Code", "Contact Name"} <= set(
        outcome.plan.ignored
    )


def test_xero_contacts_export_as_it_is(admin_role_user):
    outcome = import_run(
        entity_name="clients",
        content=(FILES / "xero_contacts.csv").read_bytes(),
        file_name="Contacts.csv",
        actor=admin_role_user,
    )
    assert outcome.written, outcome.summary()
    assert outcome.plan.sheet.encoding == "utf-8-sig"
    bayside = Client.objects.get(email="secretarybob@bayside.co.nz")
    assert (bayside.name, bayside.phone, bayside.mobile, bayside.tax_number) == (
        "Bayside Club",
        "02 2024455",
        "021 555 0100",
        "123-456-789",
    )
    assert bayside.billing_address == (
        "P O Box 3354\nRidge Heights\nMadeupville\nVA 6001\nNew Zealand"
    )
    ridgeway = Client.objects.get(email="accounts@ridgeway.ac.nz")
    assert ridgeway.billing_address == "Level 3\n1 Campus Drive\nWellington\n6011\nNew Zealand"
    assert {"AccountNumber", "SAAddressLine1", "DueDateSalesTerm"} <= set(outcome.plan.ignored)


def test_importing_the_same_export_again_changes_nothing(admin_role_user):
    content = (FILES / "xero_contacts.csv").read_bytes()
    import_run(entity_name="clients", content=content, file_name="c.csv", actor=admin_role_user)
    history = Client.history.count()
    again = import_run(
        entity_name="clients", content=content, file_name="c.csv", actor=admin_role_user
    )
    assert again.summary() == {
        "entity": "clients",
        "rows": 2,
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "skipped": 0,
        "errors": [],
        "dry_run": False,
    }
    assert Client.history.count() == history
