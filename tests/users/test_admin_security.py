"""An Admin manages staff but cannot escalate to superuser or take over accounts."""

import pytest
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from apps.users.roles import ADMIN, AGENT, roles_grant_permissions

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(email="root@example.com", password="root-pass-123")


def change_form_data(user, **overrides):
    data = {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "commission_rate": "0",
        "is_active": "on",
        "is_staff": "on",
        "groups": [group.pk for group in user.groups.all()],
    }
    data.update(overrides)
    return data


def test_admin_cannot_make_anyone_superuser(admin_client_mfa, admin_with_mfa, agent_user):
    for target in (admin_with_mfa, agent_user):
        response = admin_client_mfa.post(
            f"/admin/users/user/{target.pk}/change/",
            change_form_data(target, is_superuser="on"),
        )
        assert response.status_code == 302
        target.refresh_from_db()
        assert target.is_superuser is False


def test_admin_cannot_grant_single_permissions(admin_client_mfa, agent_user):
    permission = Permission.objects.get(codename="delete_user")
    admin_client_mfa.post(
        f"/admin/users/user/{agent_user.pk}/change/",
        change_form_data(agent_user, user_permissions=[permission.pk]),
    )
    assert not agent_user.user_permissions.exists()


def test_admin_cannot_change_or_reset_a_superuser(admin_client_mfa, superuser):
    change = admin_client_mfa.post(
        f"/admin/users/user/{superuser.pk}/change/",
        change_form_data(superuser, email="mine@example.com"),
    )
    assert change.status_code == 403
    password = admin_client_mfa.post(
        f"/admin/users/user/{superuser.pk}/password/",
        {"password1": "taken-over-123", "password2": "taken-over-123"},
    )
    assert password.status_code == 403
    superuser.refresh_from_db()
    assert superuser.email == "root@example.com"
    assert superuser.check_password("root-pass-123")


def test_admin_can_still_manage_an_agent(admin_client_mfa, agent_user):
    response = admin_client_mfa.post(
        f"/admin/users/user/{agent_user.pk}/change/",
        change_form_data(agent_user, first_name="Renamed"),
    )
    assert response.status_code == 302
    agent_user.refresh_from_db()
    assert agent_user.first_name == "Renamed"


def test_admin_cannot_see_totp_secrets_or_email_addresses(admin_client_mfa, superuser):
    TOTP.activate(superuser, generate_totp_secret())
    authenticator = Authenticator.objects.get(user=superuser)
    assert admin_client_mfa.get("/admin/mfa/authenticator/").status_code == 403
    assert (
        admin_client_mfa.get(f"/admin/mfa/authenticator/{authenticator.pk}/change/").status_code
        == 403
    )
    assert admin_client_mfa.get("/admin/account/emailaddress/").status_code == 403


def test_totp_secrets_are_encrypted_at_rest(admin_role_user):
    secret = generate_totp_secret()
    TOTP.activate(admin_role_user, secret)
    stored = Authenticator.objects.get(user=admin_role_user, type=Authenticator.Type.TOTP)
    assert secret not in str(stored.data)
    assert get_adapter().decrypt(stored.data["secret"]) == secret


def test_role_permissions_are_exact_for_listed_models_and_keep_manual_additions():
    agent = Group.objects.get(name=AGENT)
    assert set(
        agent.permissions.filter(content_type__app_label="clients").values_list(
            "codename", flat=True
        )
    ) == {"view_client", "add_client", "change_client"}
    assert not agent.permissions.filter(content_type__app_label__in=["sync", "users"]).exists()
    # An extra permission on a listed model is taken back; one on an unlisted model stays.
    agent.permissions.add(Permission.objects.get(codename="delete_client"))
    manual = Permission.objects.get(codename="view_group")
    agent.permissions.add(manual)
    roles_grant_permissions()
    assert not agent.permissions.filter(codename="delete_client").exists()
    assert agent.permissions.filter(pk=manual.pk).exists()
    admin = Group.objects.get(name=ADMIN)
    assert not admin.permissions.filter(content_type__app_label__in=["mfa", "account"]).exists()


def test_mfa_is_required_by_role_even_without_the_staff_flag(client, password):
    from apps.users.services import user_provision

    user = user_provision(email="sneaky@example.com", password=password, role=ADMIN)
    user.is_staff = False
    user.save()
    client.post("/accounts/login/", {"login": user.email, "password": password})
    response = client.get("/api/v1/schema/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/?next=%2Fapi%2Fv1")


def test_rotate_keys_reencrypts_totp_secrets_under_the_new_key(admin_role_user, settings):
    import io
    import json

    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old_keys = list(settings.TOKEN_ENCRYPTION_KEYS)
    secret = generate_totp_secret()
    TOTP.activate(admin_role_user, secret)
    new_key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, *old_keys]
    out = io.StringIO()
    call_command("sync", "rotate-keys", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["mfa_reencrypted"] == 1
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]  # the old key is gone: only the new one decrypts
    stored = Authenticator.objects.get(user=admin_role_user, type=Authenticator.Type.TOTP)
    assert get_adapter().decrypt(stored.data["secret"]) == secret
