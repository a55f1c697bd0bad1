"""documents.py's payloads against the sandbox's own Xero arithmetic (apps/sandbox/xero:
line amount round(Q x U x (1 - DR/100)), tax rounded per line): for any lines and document
discount our totals function makes, Xero's totals of the payload equal ours to the cent."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.quotes.totals import LineInput, compute_totals
from apps.sandbox.xero import documents as xero_documents
from apps.sandbox.xero import services as xero_services
from apps.sync.connectors.xero import documents


def _lines(specs, discount):
    totals = compute_totals(
        lines=[LineInput(quantity=q, rate=r, tax_rate=t) for q, r, t in specs],
        currency="ZAR",
        discount_value=discount,
    )
    lines = [
        SimpleNamespace(
            pk=index,
            name=f"Line {index}",
            description="",
            quantity=q,
            rate=r,
            tax_rate=t,
            amount=line.amount,
            discount_amount=line.discount,
        )
        for index, ((q, r, t), line) in enumerate(zip(specs, totals.lines, strict=True))
    ]
    return lines, totals


def _xero_totals(tenant, lines, *, unit_places=4):
    rows, taxed = documents.document_lines(
        lines,
        item_codes={},
        tax_types={line.pk: "OUTPUT" if line.tax_rate else "NONE" for line in lines},
        account_codes={line.pk: "200" for line in lines},
    )
    amount_types = "Exclusive" if taxed else "NoTax"
    # As the adapter asks it (unitdp=4): rates keep their third place.
    computed = xero_documents._line_items(
        tenant, rows, line_amount_types=amount_types, unit_places=unit_places
    )
    return xero_documents._totals(computed, inclusive=False)


@pytest.fixture
def tenant(db):
    return xero_services.tenant_create(name="Arithmetic", tax_rate_percent=Decimal("15"))


def test_the_issue_case_thirds_quantity_three_and_a_discount(tenant):
    specs = [
        (Decimal("3"), Decimal("33.333"), Decimal("15")),
        (Decimal("3"), Decimal("0.333"), Decimal("15")),
        (Decimal("1"), Decimal("120.00"), Decimal("0")),
    ]
    lines, ours = _lines(specs, Decimal("10.00"))
    rows, taxed = documents.document_lines(
        lines,
        item_codes={},
        tax_types={0: "OUTPUT", 1: "OUTPUT", 2: "NONE"},
        account_codes={0: "200", 1: "200", 2: "200"},
    )
    assert taxed and [row["UnitAmount"] for row in rows] == [33.333, 0.333, 120]
    assert all("DiscountRate" in row for row in rows)
    sub_total, tax, total = _xero_totals(tenant, lines)
    assert (sub_total, tax, total) == (
        ours.subtotal - ours.discount_total,
        ours.tax_total,
        ours.total,
    )
    # Without unitdp=4 Xero keeps two places of 33.333 and 0.333: its totals would differ.
    assert _xero_totals(tenant, lines, unit_places=2)[2] != ours.total


@pytest.mark.parametrize(
    ("quantity", "unit", "net", "rate"),
    [
        (Decimal("1"), Decimal("100"), Decimal("90.00"), Decimal("10")),
        (Decimal("3"), Decimal("333.333"), Decimal("966.67"), Decimal("3.333")),
        (Decimal("2"), Decimal("50"), Decimal("100.00"), Decimal("0")),
    ],
)
def test_discount_rate_with_the_fewest_places(quantity, unit, net, rate):
    assert documents.line_discount_rate(quantity, unit, net) == rate


def test_no_rate_for_a_net_above_the_amount():
    assert documents.line_discount_rate(Decimal("1"), Decimal("10"), Decimal("11")) is None


line_spec = st.tuples(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("5000"), places=3),
    st.sampled_from([Decimal("0"), Decimal("15")]),
)


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=st.lists(line_spec, min_size=1, max_size=6),
    share=st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=4),
)
def test_xero_totals_equal_ours_for_any_lines_and_discount(tenant, specs, share):
    with transaction.atomic():
        subtotal = compute_totals(
            lines=[LineInput(quantity=q, rate=r, tax_rate=t) for q, r, t in specs],
            currency="ZAR",
        ).subtotal
        discount = (subtotal * share).quantize(Decimal("0.01"))
        lines, ours = _lines(specs, discount)
        sub_total, tax, total = _xero_totals(tenant, lines)
        assert (sub_total, tax, total) == (
            ours.subtotal - ours.discount_total,
            ours.tax_total,
            ours.total,
        )
