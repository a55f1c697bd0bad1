"""Connecting Zoho: a credential from an authorisation code or a refresh token, the Books
organisations it reaches, one connection per chosen organisation, and the organisation's CRM
linked on the same credential."""

from django.conf import settings
from django.db import transaction

from apps.core.errors import ApplicationError
from apps.sync.engine.connections import connection_attach, oauth_refused, plain_client
from apps.sync.engine.records import OAuthError, TokenSet, VendorError
from apps.sync.engine.tokens import CredentialAuth, access_token, credential_create
from apps.sync.engine.transport import CallContext, HttpClient
from apps.sync.models import Connection, ConnectionStatus, Credential

from .accounts import VENDOR, zoho_accounts_server, zoho_refresh
from .books.adapter import ZohoBooksAdapter
from .crm.adapter import parse_error as crm_parse_error


def zoho_organizations(*, credential: Credential) -> list[dict]:
    """The Books organisations a Zoho credential reaches (GET /organizations)."""
    books = ZohoBooksAdapter(
        HttpClient(context=CallContext(), auth=CredentialAuth(credential.pk, credential.vendor)),
        organization_id="",
        api_base=credential.api_domain or settings.ZOHO_API_URL,
    )
    try:
        return books.organizations()
    except VendorError as error:
        raise ApplicationError(f"Zoho Books did not list the organisations: {error}") from error


def connection_attach_zoho(
    *,
    credential: Credential,
    organizations: list[dict],
    organization_id: str = "",
    region: str = "com",
    name: str = "",
) -> Connection:
    """Bind a Zoho credential to one Books organisation (the default one when none is named)."""
    if organization_id:
        chosen = [o for o in organizations if str(o.get("organization_id")) == organization_id]
    else:
        chosen = [o for o in organizations if o.get("is_default_org")] or organizations[:1]
    if not chosen:
        raise ApplicationError(
            f"Zoho Books has no organisation {organization_id} for this token.",
            extra={"organization_id": ["not among GET /organizations"]},
        )
    org = chosen[0]
    with transaction.atomic():
        return connection_attach(
            provider="zoho_books",
            remote_account_id=str(org["organization_id"]),
            name=name or f"Zoho Books - {org.get('name') or org['organization_id']}",
            credential=credential,
            region=region,
        )


def connection_connect_zoho(
    *,
    tokens: TokenSet,
    accounts_server: str,
    region: str = "com",
    organization_id: str = "",
    name: str = "",
) -> Connection:
    with transaction.atomic():
        credential = credential_create(
            vendor=VENDOR, tokens=tokens, accounts_server=accounts_server
        )
    try:
        organizations = zoho_organizations(credential=credential)
        return connection_attach_zoho(
            credential=credential,
            organizations=organizations,
            organization_id=organization_id,
            region=region,
            name=name,
        )
    except ApplicationError:
        if not credential.connections.exists():
            credential.delete()
        raise


def connection_connect_zoho_refresh_token(
    *, refresh_token: str, region: str = "com", organization_id: str = "", name: str = ""
) -> Connection:
    accounts_server = zoho_accounts_server(region)
    try:
        tokens = zoho_refresh(
            plain_client(), accounts_server=accounts_server, refresh_token=refresh_token
        )
    except OAuthError as error:
        raise oauth_refused(error) from error
    return connection_connect_zoho(
        tokens=tokens,
        accounts_server=accounts_server,
        region=region,
        organization_id=organization_id,
        name=name,
    )


def connection_link_zoho_crm(*, books: Connection, name: str = "") -> Connection:
    """The organisation's Zoho CRM on the Books connection's credential (one Zoho token serves
    both). Linked, CRM becomes the master of contacts and the home of deals."""
    connection, _ = Connection.objects.update_or_create(
        provider="zoho_crm",
        remote_account_id=books.remote_account_id,
        defaults={
            "name": name or f"{books.name} (CRM)",
            "credential": books.credential,
            "region": books.region,
            "status": ConnectionStatus.CONNECTED,
        },
    )
    return connection


def zoho_crm_granted(*, credential: Credential) -> bool:
    """Whether the consent behind `credential` covers the organisation's Zoho CRM.

    Zoho's token answer does not list the scopes granted (vendor-contracts.md §1.3), so CRM is
    asked: one read of one contact. An answer is yes; a refusal (a scope mismatch, no CRM for
    this organisation) is no. The token is sent by hand, without the refresh-after-401 of the
    credential's auth, so a refusal never refreshes or marks the credential."""
    token, _ = access_token(credential.pk)
    api_base = (credential.api_domain or settings.ZOHO_API_URL).rstrip("/")
    try:
        HttpClient(context=CallContext()).request(
            "GET",
            f"{api_base}/crm/v6/Contacts",
            params={"fields": "Email", "per_page": 1},
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
            error_parser=crm_parse_error,
            expect_json=False,
        )
    except VendorError:
        return False
    return True


def connection_link_zoho_crm_if_granted(*, books: Connection) -> Connection | None:
    """The admin's Connect Zoho: the CRM connection too when the consent covers CRM."""
    if not zoho_crm_granted(credential=books.credential):
        return None
    return connection_link_zoho_crm(books=books)


def zoho_with_crm(books: Connection) -> list[Connection]:
    """The Books connection, and its CRM's when the consent covers CRM."""
    crm = connection_link_zoho_crm_if_granted(books=books)
    return [books, crm] if crm is not None else [books]
