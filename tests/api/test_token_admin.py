"""API tokens in the admin: a superuser creates one (shown once, stored hashed) and revokes it;
the list shows last use. Admins and Agents cannot reach it (a token acts as its user)."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from apps.api.models import ApiToken
from apps.api.services import token_hash
from apps.users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    root = User.objects.create_superuser(email="root@example.com", password="x" * 20)
    TOTP.activate(root, generate_totp_secret())
    client.force_login(root)
    return client


def test_superuser_creates_and_revokes_a_token(superuser_client, agent_user):
    response = superuser_client.post(
        "/admin/api/apitoken/add/",
        {"user": agent_user.pk, "name": "website form", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    raw = next(m.split(": ")[-1] for m in shown if "shown once" in m)
    assert token.token_hash == token_hash(raw) and token.user == agent_user
    listing = superuser_client.get("/admin/api/apitoken/")
    assert token.prefix in listing.content.decode()
    superuser_client.post(
        "/admin/api/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admins_do_not_reach_tokens(admin_client_mfa):
    assert admin_client_mfa.get("/admin/api/apitoken/").status_code == 403
