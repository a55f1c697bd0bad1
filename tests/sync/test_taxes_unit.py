"""The pieces of tax mapping and totals comparison on their own: Books payloads name every
line's tax and the currency by id, the mapping matches by percentage and name (never a guess
between two), an Admin's choice must be of the same percentage, totals differences are kept
with both figures and cleared when they agree, and the merge sends our tax over an old base."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.catalog.models import TaxRate
from apps.sync.connectors.zoho.books import documents, mappers
from apps.sync.engine import taxes
from apps.sync.engine.merge import Policy, merge
from apps.sync.engine.records import Rejected, RemoteRecord
from apps.sync.engine.totals import totals_compare
from apps.sync.models import Binding, BindingStatus, RemoteTax, TaxMapping
from tests.sync.factories import make_zoho_books


def _line(pk, rate, tax, discount="0", service_id=None):
    return SimpleNamespace(
        pk=pk,
        name=f"Line {pk}",
        description="",
        rate=Decimal(rate),
        quantity=Decimal("3"),
        tax_rate=Decimal(tax),
        discount_amount=Decimal(discount),
        service_id=service_id,
    )


def test_every_line_names_its_tax_and_the_document_its_treatment_and_currency():
    quote = SimpleNamespace(
        number="Q-1",
        issue_date=timezone.localdate(),
        currency="USD",
        notes="",
        terms="",
        valid_until=None,
    )
    lines = [_line(1, "123.33", "15", service_id=7), _line(2, "10.00", "0")]
    payload = documents.estimate_payload(
        quote,
        lines,
        customer_id="c1",
        item_ids={7: "i7"},
        tax_ids={1: "t15", 2: ""},
        currency_id="usd-id",
    )
    assert [(row["tax_id"], row.get("item_id")) for row in payload["line_items"]] == [
        ("t15", "i7"),
        ("", None),
    ]
    assert all("tax_percentage" not in row for row in payload["line_items"])
    assert payload["is_inclusive_tax"] is False and payload["currency_id"] == "usd-id"
    assert "currency_code" not in payload
    base = documents.estimate_payload(
        quote, lines, customer_id="c1", item_ids={}, tax_ids={1: "t15", 2: ""}
    )
    assert "currency_id" not in base and base["is_inclusive_tax"] is False


def test_a_line_without_an_item_goes_to_the_default_sales_account():
    quote = SimpleNamespace(
        number="Q-2", issue_date=timezone.localdate(), notes="", terms="", valid_until=None
    )
    lines = [_line(1, "50.00", "0", service_id=7), _line(2, "10.00", "0")]
    payload = documents.estimate_payload(
        quote, lines, customer_id="c1", item_ids={7: "i7"}, tax_ids={1: "", 2: ""}, account_id="a9"
    )
    # The item's line takes the item's own sales account in Books.
    assert [row.get("account_id") for row in payload["line_items"]] == [None, "a9"]


def test_books_totals_are_net_of_the_entity_discount():
    figures = documents.books_totals(
        {"sub_total": 549.99, "discount": 50.0, "tax_total": 61.36, "total": 561.35}
    )
    assert figures == {
        "sub_total": Decimal("499.99"),
        "tax": Decimal("61.36"),
        "total": Decimal("561.35"),
        "balance": None,
    }


def test_books_settings_and_item_taxes_map_to_canonical_values():
    found = mappers.settings_from_books(
        taxes=[
            {"tax_id": "1", "tax_name": "VAT", "tax_percentage": 15},
            {"tax_name": "no id"},
        ],
        currencies=[
            {"currency_id": "9", "currency_code": "zar", "is_base_currency": True},
            {"currency_id": "8", "currency_code": "USD"},
        ],
    )
    assert found.taxes == [taxes.VendorTax("1", "VAT", Decimal("15.000"))]
    assert [(c.code, c.is_base) for c in found.currencies] == [("ZAR", True), ("USD", False)]
    item = RemoteRecord(
        remote_id="5",
        number="",
        modified_at=None,
        data={"name": "X", "rate": 1, "tax_id": "1", "tax_percentage": 15.0},
    )
    assert mappers.item_from_books(item)["tax_rate"] == "15.000"
    zero = RemoteRecord(
        remote_id="6", number="", modified_at=None, data={"name": "X", "rate": 1, "tax_id": "2"}
    )
    assert mappers.item_from_books(zero)["tax_rate"] == ""
    assert mappers.item_to_books({"name": "X", "rate": "1.00"}, tax_id="1")["tax_id"] == "1"


def test_an_old_base_without_a_tax_sends_ours_rather_than_untaxing_the_catalogue():
    result = merge(
        base={"rate": "1.00"},
        local={"rate": "1.00", "tax_rate": "15.000"},
        remote={"rate": "1.00", "tax_rate": ""},
    )
    assert result.to_remote == {"tax_rate": "15.000"} and not result.to_local
    assert result.conflicts[0].policy == Policy.LOCAL_WINS
    # A change on one side only still flows: Books taxed an item we had untaxed.
    flowed = merge(base={"tax_rate": ""}, local={"tax_rate": "0"}, remote={"tax_rate": "15.0"})
    assert flowed.to_local == {"tax_rate": "15.0"}


def _remote(connection, remote_id, name, rate, active=True):
    return RemoteTax.objects.create(
        connection=connection,
        remote_id=remote_id,
        name=name,
        rate=Decimal(rate),
        active=active,
        refreshed_at=timezone.now(),
    )


@pytest.mark.django_db
def test_matching_is_by_percentage_then_name_and_never_a_guess_between_two():
    books = make_zoho_books()
    _remote(books, "1", "VAT", "15")
    gst = _remote(books, "2", "gst ", "15")
    levy = _remote(books, "3", "Levy", "7.5")
    _remote(books, "4", "Old", "5", active=False)
    local_gst = TaxRate.objects.create(name="GST", rate=Decimal("15"))
    other = TaxRate.objects.create(name="Sales tax", rate=Decimal("15"))
    local_levy = TaxRate.objects.create(name="Tourism", rate=Decimal("7.5"))
    old = TaxRate.objects.create(name="Old", rate=Decimal("5"))
    TaxRate.objects.create(name="Exempt", rate=Decimal("0"))
    assert taxes.tax_mappings_match(connection=books) == 2
    found = {m.tax_rate: m.remote_tax for m in TaxMapping.objects.filter(connection=books)}
    assert found == {local_gst: gst, other: None, local_levy: levy, old: None}
    missing = TaxMapping.objects.get(tax_rate=other)
    assert "Not mapped" in taxes.mapping_problem(missing)
    assert "no longer" in taxes.mapping_problem(
        TaxMapping(connection=books, tax_rate=old, remote_tax=RemoteTax.objects.get(name="Old"))
    )

    with pytest.raises(ValidationError) as refused:
        taxes.tax_mapping_set(connection=books, tax_rate=other, remote_tax=levy)
    assert "same percentage" in str(refused.value.message_dict["remote_tax"])
    chosen = taxes.tax_mapping_set(
        connection=books, tax_rate=other, remote_tax=RemoteTax.objects.get(remote_id="1")
    )
    assert chosen.source == TaxMapping.Source.ADMIN
    taxes.tax_mappings_match(connection=books)  # an Admin's usable choice is kept
    assert TaxMapping.objects.get(tax_rate=other).remote_tax.remote_id == "1"
    assert taxes.tax_reference(connection=books, rate=Decimal("15"), preferred=other) == "1"
    assert taxes.tax_reference(connection=books, rate=Decimal("0")) == ""


@pytest.mark.django_db
def test_a_percentage_no_local_rate_has_is_refused_naming_it():
    books = make_zoho_books()
    with pytest.raises(Rejected) as refused:
        taxes.tax_reference(connection=books, rate=Decimal("12.5"))
    assert "12.5%" in str(refused.value) and "no local tax rate" in str(refused.value)


@pytest.mark.django_db
def test_a_pulled_percentage_finds_or_makes_the_local_rate():
    books = make_zoho_books()
    _remote(books, "1", "Standard VAT", "15")
    made = taxes.local_tax_rate_for("15.000")
    assert (made.name, made.rate) == ("Standard VAT", Decimal("15.000"))
    assert taxes.local_tax_rate_for("15.0") == made
    assert taxes.local_tax_rate_for("") is None and taxes.local_tax_rate_for("0.000") is None
    assert taxes.local_tax_rate_for("9").name == "Tax 9%"


@pytest.mark.django_db
def test_totals_that_differ_are_kept_with_both_figures_and_cleared_when_they_agree():
    books = make_zoho_books()
    document = SimpleNamespace(
        pk=42,
        subtotal=Decimal("100.00"),
        discount_total=Decimal("0.00"),
        tax_total=Decimal("15.00"),
        total=Decimal("115.00"),
        balance=Decimal("115.00"),
    )
    Binding.objects.create(
        connection=books,
        entity="invoices",
        content_type_id=1,
        object_id=42,
        remote_id="r42",
        status=BindingStatus.SYNCED,
    )
    theirs = {
        "sub_total": Decimal("100.00"),
        "tax": Decimal("14.00"),
        "total": Decimal("114.00"),
        "balance": Decimal("114.00"),
    }
    differ = totals_compare(connection=books, entity="invoices", document=document, theirs=theirs)
    assert differ == ["tax", "total", "balance"]
    binding = Binding.objects.get(object_id=42)
    assert binding.status == BindingStatus.TOTALS_DIFFER
    assert binding.totals["ours"]["total"] == "115.00"
    assert binding.totals["theirs"]["total"] == "114.00"
    assert "total Zoho Books 114.00, ours 115.00" in binding.last_error
    agreed = {**theirs, "tax": Decimal("15.00"), "total": Decimal("115.00"), "balance": None}
    assert (
        totals_compare(connection=books, entity="invoices", document=document, theirs=agreed) == []
    )
    binding.refresh_from_db()
    assert binding.status == BindingStatus.SYNCED and binding.last_error == ""
    assert binding.totals["differ"] == []
