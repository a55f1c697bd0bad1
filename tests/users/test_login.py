"""Login by e-mail through allauth, closed sign-up, password reset and login rate limits."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

pytestmark = pytest.mark.django_db
User = get_user_model()


def login(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_login_by_email_in_any_letter_case(client, agent_user, password):
    response = login(client, "AGENT@Example.com", password)
    assert response.status_code == 302
    assert response["Location"] == "/"  # Agents land in the staff workspace
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client, agent_user):
    response = login(client, agent_user.email, "not-the-password")
    assert response.status_code == 200
    assert b"not correct" in response.content
    assert "_auth_user_id" not in client.session


def test_username_field_does_not_exist():
    assert User.USERNAME_FIELD == "email"
    assert not hasattr(User(), "username") or User().username is None


def test_signup_is_closed(client):
    page = client.get("/accounts/signup/")
    assert page.status_code == 200
    assert b"Sign Up Closed" in page.content
    client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-pass-123",
            "password2": "a-long-pass-123",
        },
    )
    assert not User.objects.filter(email="new@example.com").exists()


def test_password_reset_by_email(client, agent_user):
    response = client.post("/accounts/password/reset/", {"email": agent_user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    form_page = client.get(link.group(1), follow=True)
    form_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1)
    done = client.post(
        form_url, {"password1": "brand-new-secret-42", "password2": "brand-new-secret-42"}
    )
    assert done.status_code == 302
    client.logout()
    assert login(client, agent_user.email, "brand-new-secret-42").status_code == 302


def test_failed_logins_are_rate_limited_per_account(client, agent_user, password):
    for _ in range(5):
        assert login(client, agent_user.email, "wrong").status_code == 200
    # The sixth attempt is refused even with the right password: the key is locked for 5 minutes.
    response = login(client, agent_user.email, password)
    assert response.status_code == 200
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_inactive_user_cannot_log_in(client, agent_user, password):
    agent_user.is_active = False
    agent_user.save()
    login(client, agent_user.email, password)
    assert "_auth_user_id" not in client.session


def test_admin_login_page_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_offers_no_sign_up(client):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"/accounts/signup/" not in page.content
