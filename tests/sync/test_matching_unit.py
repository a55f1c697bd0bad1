"""The matching rules on their own (engine/matching.py, pure): normalising, the order of the
rules, scores, ambiguity, one local record claimed twice; and the connectors' match keys."""

from decimal import Decimal

import pytest

from apps.clients.models import Client
from apps.core.errors import ApplicationError
from apps.sync.connectors.xero.mappers import contact_from_xero, contact_match_keys_xero
from apps.sync.connectors.zoho.books.mappers import contact_match_keys_books
from apps.sync.engine import importer
from apps.sync.engine.matching import name_score, normalise, propose
from apps.sync.engine.pull import ReviewPending, pull
from apps.sync.engine.records import RemoteRecord
from apps.sync.matching.models import MatchPlan, MatchRow, PlanStatus
from apps.sync.models import Binding
from apps.sync.services import sync_run_request
from tests.sync.factories import make_xero


def record(**data) -> RemoteRecord:
    return RemoteRecord(remote_id="1", number="", modified_at=None, data=data)


def test_names_differing_in_punctuation_case_accents_and_ampersand_are_the_same():
    assert normalise("name", "Acme (Pty) Ltd.") == normalise("name", "ACME Pty Ltd")
    assert normalise("name", "Smith & Sons") == normalise("name", "smith and sons")
    assert normalise("name", "Café Noël") == normalise("name", "Cafe Noel")
    assert normalise("name", "Acme Pty Ltd") != normalise("name", "Acme Holdings Pty Ltd")
    assert normalise("tax_number", " gb 123-456 789 ") == "GB123456789"
    assert normalise("email", " Ann@Example.COM ") == "ann@example.com"
    assert normalise("name", "  ") == "" and normalise("email", None) == ""


def test_a_name_match_has_a_score_below_one_when_written_differently():
    assert name_score("Acme Pty Ltd", "Acme Pty Ltd") == Decimal("1.00")
    score = name_score("Acme Pty Ltd", "Acme (Pty) Ltd")
    assert Decimal("0.80") < score < Decimal("1.00")


def test_rules_in_order_ambiguity_and_a_record_claimed_twice():
    local = [
        (1, {"name": "Ann Books", "email": "ann@x.test", "tax_number": "", "reference": "R1"}),
        (2, {"name": "Bob Ltd", "email": "", "tax_number": "VAT 99", "reference": "R2"}),
        (3, {"name": "Twin Co", "email": "", "tax_number": "", "reference": "R3"}),
        (4, {"name": "Twin Co.", "email": "", "tax_number": "", "reference": "R4"}),
        (5, {"name": "Lonely", "email": "lonely@x.test", "tax_number": "", "reference": "R5"}),
        (6, {"name": "Shared", "email": "shared@x.test", "tax_number": "", "reference": "R6"}),
    ]
    remote = [
        # e-mail beats a name that points elsewhere
        ("a", {"name": "Bob Ltd", "email": "ANN@x.test"}),
        ("b", {"name": "Someone", "tax_number": "vat-99"}),
        ("c", {"name": "TWIN CO"}),  # two local records alike: the Admin chooses
        ("d", {"name": "Nobody", "email": "nobody@x.test"}),
        ("e", {"name": "Shared", "email": "shared@x.test"}),
        ("f", {"name": "Other", "email": "SHARED@x.test"}),  # the same local record again
        ("g", {"name": "By Ref", "reference": "r5"}),
    ]
    proposals, unmatched = propose(entity="clients", remote=remote, local=local)
    got = {p.remote_id: p for p in proposals}
    assert (got["a"].decision, got["a"].rule, got["a"].chosen.object_id) == ("link", "email", 1)
    assert (got["b"].decision, got["b"].rule, got["b"].chosen.object_id) == (
        "link",
        "tax_number",
        2,
    )
    assert got["c"].decision == "choose" and [c.object_id for c in got["c"].candidates] == [3, 4]
    assert got["d"].decision == "create" and not got["d"].candidates
    assert {got["e"].decision, got["f"].decision} == {"link", "choose"}
    assert (got["g"].decision, got["g"].rule, got["g"].chosen.object_id) == ("link", "reference", 5)
    assert unmatched == []


def test_services_match_by_sku_then_name():
    local = [(1, {"name": "Deep clean", "sku": "dc-01", "reference": "dc-01"})]
    proposals, unmatched = propose(
        entity="services",
        remote=[("x", {"name": "Other", "sku": "DC 01"}), ("y", {"name": "New", "sku": "N"})],
        local=local,
    )
    assert [(p.remote_id, p.decision, p.rule) for p in proposals] == [
        ("x", "link", "sku"),
        ("y", "create", ""),
    ]
    assert unmatched == []


def test_the_connectors_supply_the_vendor_specific_keys():
    assert contact_match_keys_books(record(vat_reg_no="GB 123")) == {"tax_number": "GB 123"}
    assert contact_match_keys_books(record(tax_reg_no="", gst_no="29ABCDE")) == {
        "tax_number": "29ABCDE"
    }
    assert contact_match_keys_books(record(contact_name="No number")) == {}
    assert contact_match_keys_xero(record(ContactNumber="SD-C-000012")) == {
        "reference": "SD-C-000012"
    }
    assert contact_match_keys_xero(record(Name="x")) == {}


@pytest.mark.django_db
def test_a_webhook_for_an_unbound_record_waits_for_the_review():
    connection = make_xero()
    MatchPlan.objects.create(connection=connection, status=PlanStatus.OPEN)
    record = RemoteRecord(
        remote_id="c-1",
        number="",
        modified_at=None,
        data={"ContactID": "c-1", "Name": "From a webhook", "EmailAddress": "w@x.test"},
    )
    said = importer.apply_one(
        connection=connection, entity="clients", record=record, mapper=contact_from_xero
    )
    assert "left to the pull" in said and "review the matching" in said
    assert not Client.objects.exists() and not Binding.objects.exists()
    with pytest.raises(ReviewPending, match="review the matching"):
        pull(connection=connection, entity="clients")


@pytest.mark.django_db
def test_sync_now_is_refused_while_the_review_is_open():
    connection = make_xero()
    MatchPlan.objects.create(connection=connection, status=PlanStatus.OPEN)
    with pytest.raises(ApplicationError, match="review the matching"):
        sync_run_request(connection=connection, entity="clients")


@pytest.mark.django_db
def test_only_admins_see_and_decide_a_review(client, agent_user, admin_with_mfa):
    connection = make_xero()
    plan = MatchPlan.objects.create(connection=connection, status=PlanStatus.OPEN)
    row = MatchRow.objects.create(
        plan=plan,
        entity="clients",
        side="remote",
        remote_id="r1",
        label="Somebody",
        proposed="create",
        decision="create",
    )
    url = f"/admin/sync/matchplan/{plan.pk}/change/"
    client.force_login(agent_user)
    assert client.get(url).status_code in (302, 403)
    assert client.post(url, {"action": "approve"}).status_code in (302, 403)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.OPEN
    client.force_login(admin_with_mfa)
    page = client.get(url + "?tab=create")
    assert page.status_code == 200 and b"Somebody" in page.content
    assert client.get(url + "?tab=nonsense").status_code == 200  # an unknown tab: the first one
    client.post(url, {"action": "save", f"row-{row.pk}": "push"})  # not for a record in the books
    row.refresh_from_db()
    assert row.decision == "create"
