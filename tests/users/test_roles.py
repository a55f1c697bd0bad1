"""Roles: groups made by the data migration, their permissions, MFA for admins, 403s."""

import time

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from apps.users.roles import ADMIN, AGENT, roles_grant_permissions

pytestmark = pytest.mark.django_db


def test_migration_creates_both_roles_with_permissions():
    admin = Group.objects.get(name=ADMIN)
    assert admin.permissions.filter(codename="change_user").exists()
    assert Group.objects.filter(name=AGENT).exists()


def test_granting_is_idempotent_and_keeps_manual_additions():
    admin = Group.objects.get(name=ADMIN)
    before = set(admin.permissions.values_list("pk", flat=True))
    roles_grant_permissions()
    roles_grant_permissions()
    assert set(admin.permissions.values_list("pk", flat=True)) == before


def log_in(client, user, password):
    response = client.post("/accounts/login/", {"login": user.email, "password": password})
    assert response.status_code == 302


def test_admin_without_mfa_is_sent_to_set_it_up(client, admin_role_user, password):
    log_in(client, admin_role_user, password)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate")
    # Every admin page, not only the index.
    assert client.get("/admin/users/user/").status_code == 302
    # The set-up page itself stays reachable (allauth asks for the password once more first).
    reauthenticate = client.get("/accounts/2fa/totp/activate/")
    assert reauthenticate["Location"].startswith("/accounts/reauthenticate/")
    client.post("/accounts/reauthenticate/", {"password": password})
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200


def test_admin_can_activate_totp_and_then_reach_the_admin(client, admin_role_user, password):
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    log_in(client, admin_role_user, password)
    client.post("/accounts/reauthenticate/", {"password": password})
    page = client.get("/accounts/2fa/totp/activate/")
    secret = page.context["form"].secret
    counter = int(time.time()) // 30
    code = format_hotp_value(hotp_value(secret, counter))
    response = client.post("/accounts/2fa/totp/activate/", {"code": code})
    assert response.status_code == 302, response.content[:500]
    assert client.get("/admin/").status_code == 200


def test_admin_with_mfa_reaches_admin_only_pages(admin_client_mfa):
    assert admin_client_mfa.get("/admin/").status_code == 200
    assert admin_client_mfa.get("/admin/users/user/").status_code == 200


def test_agent_gets_403_on_an_admin_only_page(agent_client):
    assert agent_client.get("/admin/").status_code == 200
    assert agent_client.get("/admin/users/user/").status_code == 403
    assert agent_client.get("/admin/auth/group/").status_code == 403


def test_mfa_requirement_can_be_switched_off(client, admin_role_user, settings):
    settings.MFA_REQUIRED_FOR_ADMINS = False
    client.force_login(admin_role_user)
    assert client.get("/admin/").status_code == 200


def test_anonymous_admin_request_goes_to_login(client):
    response = client.get("/admin/users/user/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_demo_users_command_creates_working_logins(client):
    call_command("create_demo_users", password="demo-password-1")
    response = client.post(
        "/accounts/login/", {"login": "agent@syncdesk.test", "password": "demo-password-1"}
    )
    assert response.status_code == 302
    assert Group.objects.get(name=ADMIN).user_set.filter(email="admin@syncdesk.test").exists()
