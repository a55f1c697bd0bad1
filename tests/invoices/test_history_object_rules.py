"""History pages apply the admin's object rules: an Agent cannot read another agent's commission
bill through simple-history's list or version pages (issue 11, item 1)."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from apps.core.admin_tools import ReadOnlyHistoryMixin
from apps.users.roles import AGENT
from apps.users.services import user_provision
from tests.invoices.test_admin import paid_invoice_with_bill

pytestmark = pytest.mark.django_db


def test_an_agent_cannot_read_another_agents_bill_through_history(
    agent_client, agent_user, admin_with_mfa, password
):
    mine = paid_invoice_with_bill(agent_user).commission_bill
    other_agent = user_provision(email="agent2@example.com", password=password, role=AGENT)
    other_agent.first_name = "Zebulon"
    other_agent.save()
    theirs = paid_invoice_with_bill(other_agent).commission_bill
    their_version = theirs.history.latest("history_date").history_id
    my_version = mine.history.latest("history_date").history_id

    for url in (
        reverse("admin:invoices_commissionbill_history", args=[theirs.pk]),
        reverse("admin:invoices_commissionbill_simple_history", args=[theirs.pk, their_version]),
    ):
        response = agent_client.get(url)
        assert response.status_code == 404, url
        assert "Zebulon" not in response.content.decode()
        assert theirs.invoice.number not in response.content.decode()

    # Their own bill's history stays readable, and an Admin reads every bill's.
    assert (
        agent_client.get(
            reverse("admin:invoices_commissionbill_history", args=[mine.pk])
        ).status_code
        == 200
    )
    assert (
        agent_client.get(
            reverse("admin:invoices_commissionbill_simple_history", args=[mine.pk, my_version])
        ).status_code
        == 200
    )
    boss = Client()
    boss.force_login(admin_with_mfa)
    page = boss.get(reverse("admin:invoices_commissionbill_history", args=[theirs.pk]))
    assert page.status_code == 200
    version = boss.get(
        reverse("admin:invoices_commissionbill_simple_history", args=[theirs.pk, their_version])
    )
    assert version.status_code == 200
    assert theirs.invoice.number in version.content.decode()


def test_a_missing_record_has_no_history_page(admin_client_mfa):
    response = admin_client_mfa.get(reverse("admin:invoices_commissionbill_history", args=[999]))
    assert response.status_code == 404


def test_every_history_admin_applies_the_object_rules():
    """A new admin with history must not bring back the hole: each one takes the guard."""
    history_admins = [
        model_admin
        for model_admin in admin.site._registry.values()
        if isinstance(model_admin, SimpleHistoryAdmin)
    ]
    assert len(history_admins) >= 9
    unguarded = [
        type(model_admin).__name__
        for model_admin in history_admins
        if not isinstance(model_admin, ReadOnlyHistoryMixin)
    ]
    assert unguarded == []
