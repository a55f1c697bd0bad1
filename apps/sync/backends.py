"""From a Connection row to a ready adapter: HTTP client, credential auth, budget and run."""

from django.conf import settings

from apps.sync import governor
from apps.sync.adapters.http import CallContext, HttpClient
from apps.sync.adapters.xero import XeroAdapter
from apps.sync.adapters.zoho_books import ZohoBooksAdapter
from apps.sync.adapters.zoho_crm import ZohoCrmAdapter
from apps.sync.models import Connection, Priority, Provider
from apps.sync.tokens import CredentialAuth, access_token


def budget_key(connection: Connection) -> str:
    """Zoho Books budgets are per organisation, Xero per tenant, CRM per org."""
    return f"{connection.provider}:{connection.remote_account_id}"


def call_context(connection: Connection, *, run_id=None, priority=Priority.BULK) -> CallContext:
    return CallContext(
        connection_id=connection.pk,
        run_id=run_id,
        budget_key=budget_key(connection),
        limits=governor.limits_for(connection.provider, daily_limit=connection.daily_limit),
        priority=priority,
    )


def zoho_api_base(connection: Connection) -> str:
    """Zoho calls go to the api_domain the token endpoint returned (per data centre)."""
    if not connection.credential.api_domain:
        access_token(connection.credential_id)
        connection.credential.refresh_from_db(fields=["api_domain"])
    return connection.credential.api_domain or settings.ZOHO_API_URL


def adapter_for(connection: Connection, *, run_id=None, priority=Priority.BULK):
    context = call_context(connection, run_id=run_id, priority=priority)
    auth = CredentialAuth(connection.credential_id, connection.credential.vendor)
    client = HttpClient(context=context, auth=auth)
    if connection.provider == Provider.XERO:
        return XeroAdapter(
            client, tenant_id=connection.remote_account_id, api_base=settings.XERO_API_URL
        )
    if connection.provider == Provider.ZOHO_BOOKS:
        return ZohoBooksAdapter(
            client, organization_id=connection.remote_account_id, api_base=zoho_api_base(connection)
        )
    return ZohoCrmAdapter(client, api_base=zoho_api_base(connection))
