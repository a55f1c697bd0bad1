"""Helpers for tests that talk to the vendor sandbox over real HTTP (pytest-django live_server)."""

import contextlib
import io
import json

from django.core.management import call_command


def point_settings_at(settings, live_server_url: str) -> str:
    base = f"{live_server_url}/sandbox"
    settings.SANDBOX_BASE_URL = base
    settings.SYNC_WEBHOOK_BASE_URL = live_server_url  # where the sandbox posts webhooks
    settings.ZOHO_ACCOUNTS_URL = f"{base}/zoho/accounts"
    settings.ZOHO_API_URL = f"{base}/zoho/api"
    settings.XERO_LOGIN_URL = f"{base}/xero/login"
    settings.XERO_IDENTITY_URL = f"{base}/xero/identity"
    settings.XERO_API_URL = f"{base}/xero/api"
    return base


def seed(**options) -> dict:
    """`manage.py sandbox seed`; returns {"zoho": {...}, "xero": {...}} from its JSON lines."""
    out = io.StringIO()
    args = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    call_command("sandbox", "seed", *args, stdout=out)
    answers = {}
    for line in out.getvalue().splitlines():
        if line.startswith("{"):
            body = json.loads(line)
            answers[body.get("vendor", "zoho")] = body
    return answers


def sync(*args) -> dict:
    """`manage.py sync …`; returns the JSON summary on the last line."""
    out = io.StringIO()
    with contextlib.suppress(SystemExit):
        call_command("sync", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def books_connect(
    settings,
    live_server_url: str,
    *,
    crm: bool = False,
    with_xero: bool = False,
    **counts: int,
) -> dict:
    """The set-up most sandbox tests share: settings pointed at the live server, the sandbox
    seeded (nothing in it unless `counts` says so) and its Books organisation connected over the
    CLI as "Books" (with CRM when `crm`). `with_xero` seeds Xero too and connects it as "Xero".
    Returns the seed's Zoho answer (refresh_token, organization_id)."""
    point_settings_at(settings, live_server_url)
    empty = {"contacts": 0, "items": 0, "documents": 0, "crm_contacts": 0, "deals": 0}
    answers = seed(**(empty | counts), **({} if with_xero else {"skip_xero": True}))
    zoho = answers["zoho"]
    sync(
        "connect",
        "zoho",
        "--refresh-token",
        zoho["refresh_token"],
        "--organization-id",
        zoho["organization_id"],
        "--name",
        "Books",
        *(["--crm"] if crm else []),
    )
    if with_xero:
        sync(
            "connect", "xero", "--refresh-token", answers["xero"]["refresh_token"], "--name", "Xero"
        )
    return zoho
