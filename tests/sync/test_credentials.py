"""Tokens at rest: encrypted, rotatable, never in a dump; refresh is single-flight and safe."""

import io
import re
from datetime import timedelta

import pytest
import responses
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db_connection
from django.utils import timezone
from responses import matchers

from apps.sync.engine.crypto import decrypt_tokens
from apps.sync.engine.records import AuthExpired
from apps.sync.engine.tokens import access_token
from apps.sync.models import ConnectionStatus, Credential
from tests.sync.factories import XERO_IDENTITY, ZOHO_ACCOUNTS, expire, make_xero, make_zoho_books

pytestmark = pytest.mark.django_db

SECRETS = ("access-secret-AAA", "refresh-secret-RRR", "new-access-BBB", "new-refresh-SSS")


def every_text_value_in_database() -> str:
    """Raw SQL over every table's every column: what a database dump would hold."""
    chunks = []
    with db_connection.cursor() as cursor:
        for table in db_connection.introspection.table_names(cursor):
            quoted = db_connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - table names from introspection
            chunks.extend(str(value) for row in cursor.fetchall() for value in row)
    return "\n".join(chunks)


@responses.activate
def test_a_database_dump_after_connecting_holds_no_token_in_clear():
    make_zoho_books()
    xero = make_xero()
    expire(xero)
    responses.post(
        f"{XERO_IDENTITY}/connect/token",
        json={
            "access_token": "new-access-BBB",
            "refresh_token": "new-refresh-SSS",
            "expires_in": 1800,
            "token_type": "Bearer",
        },
    )
    access_token(xero.credential_id)  # a refresh, with its SyncLog row

    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    raw = every_text_value_in_database()
    for secret in SECRETS:
        assert secret not in out.getvalue()
        assert secret not in raw
    assert decrypt_tokens(Credential.objects.get(pk=xero.credential_id).token_ciphertext) == {
        "access_token": "new-access-BBB",
        "refresh_token": "new-refresh-SSS",
    }


def test_rotate_keys_reencrypts_under_the_first_key(settings):
    connection = make_zoho_books()
    old_key = settings.TOKEN_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("sync", "rotate-keys", stdout=io.StringIO())
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]  # the old key dropped
    credential = Credential.objects.get(pk=connection.credential_id)
    assert decrypt_tokens(credential.token_ciphertext)["refresh_token"] == "refresh-secret-RRR"


@responses.activate
def test_zoho_refresh_stores_api_domain_and_keeps_the_refresh_token():
    connection = make_zoho_books()
    expire(connection)
    responses.post(
        f"{ZOHO_ACCOUNTS}/oauth/v2/token",
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "refresh_token",
                    "client_id": "zoho-client",
                    "client_secret": "zoho-client-secret-XYZ",
                    "refresh_token": "refresh-secret-RRR",
                }
            )
        ],
        json={
            "access_token": "new-access-BBB",
            "api_domain": "https://www.zohoapis.eu",
            "token_type": "Bearer",
            "expires_in": 3600,
        },
    )
    token, api_domain = access_token(connection.credential_id)
    assert (token, api_domain) == ("new-access-BBB", "https://www.zohoapis.eu")
    credential = Credential.objects.get(pk=connection.credential_id)
    assert decrypt_tokens(credential.token_ciphertext)["refresh_token"] == "refresh-secret-RRR"
    assert credential.access_expires_at > timezone.now() + timedelta(minutes=55)
    # Fresh now: no second call.
    assert access_token(connection.credential_id)[0] == "new-access-BBB"
    assert len(responses.calls) == 1


@responses.activate
def test_zoho_error_with_http_200_means_reauthorise():
    connection = make_zoho_books()
    expire(connection)
    responses.post(f"{ZOHO_ACCOUNTS}/oauth/v2/token", json={"error": "invalid_code"})
    with pytest.raises(AuthExpired):
        access_token(connection.credential_id)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH


@responses.activate
def test_lost_xero_refresh_answer_is_retried_with_the_same_token_in_the_grace_period():
    import requests

    connection = make_xero()
    expire(connection)
    responses.post(f"{XERO_IDENTITY}/connect/token", body=requests.ReadTimeout())
    responses.post(
        f"{XERO_IDENTITY}/connect/token",
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "refresh_token", "refresh_token": "refresh-secret-RRR"}
            )
        ],
        json={
            "access_token": "new-access-BBB",
            "refresh_token": "new-refresh-SSS",
            "expires_in": 1800,
        },
    )
    assert access_token(connection.credential_id)[0] == "new-access-BBB"
    tokens = decrypt_tokens(Credential.objects.get(pk=connection.credential_id).token_ciphertext)
    assert tokens["refresh_token"] == "new-refresh-SSS"


@responses.activate
def test_a_401_refreshes_once_and_retries_the_call():
    from apps.sync.engine.connections import adapter_for

    connection = make_xero()
    items = "https://api.xero.com/api.xro/2.0/Items"
    responses.get(items, status=401, json={"Title": "Unauthorized", "Detail": "TokenExpired"})
    responses.post(
        f"{XERO_IDENTITY}/connect/token",
        json={
            "access_token": "new-access-BBB",
            "refresh_token": "new-refresh-SSS",
            "expires_in": 1800,
        },
    )
    responses.get(
        items,
        json={"Items": []},
        match=[matchers.header_matcher({"Authorization": "Bearer new-access-BBB"})],
    )
    page = adapter_for(connection).list_page("items")
    assert page.records == []
    assert len(responses.calls) == 3


def test_the_admin_never_shows_a_token(admin_client_mfa):
    connection = make_zoho_books()
    for url in (
        f"/admin/sync/connection/{connection.pk}/change/",
        "/admin/sync/connection/",
        f"/admin/sync/credential/{connection.credential_id}/change/",
    ):
        response = admin_client_mfa.get(url)
        assert response.status_code in (200, 404)
        body = response.content.decode()
        assert "access-secret" not in body and "refresh-secret" not in body
        assert not re.search(r"gAAAAA[\w-]{20,}", body)  # no ciphertext either
