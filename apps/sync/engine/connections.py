"""From a Connection row to a ready adapter: the shared transport with the credential's auth, the
connection's rate budget and run, and the connector the registry holds for its provider."""

from django.conf import settings

from apps.core.errors import ApplicationError
from apps.sync.engine import governor, registry
from apps.sync.engine.records import OAuthError
from apps.sync.engine.tokens import CredentialAuth
from apps.sync.engine.transport import CallContext, HttpClient
from apps.sync.models import Connection, ConnectionStatus, Credential, Priority


def budget_key(connection: Connection) -> str:
    """One budget per vendor account (a Books organisation, a CRM org, a Xero tenant)."""
    return f"{connection.provider}:{connection.remote_account_id}"


def call_context(
    connection: Connection, *, run_id=None, priority=Priority.BULK, record=None
) -> CallContext:
    """`record`: (correlation id, entity, object id) the calls are made for (a push's item)."""
    correlation_id, entity, object_id = record or (None, "", None)
    return CallContext(
        connection_id=connection.pk,
        run_id=run_id,
        budget_key=budget_key(connection),
        limits=governor.limits_for(connection.provider, daily_limit=connection.daily_limit),
        priority=priority,
        correlation_id=correlation_id,
        entity=entity,
        object_id=object_id,
    )


def adapter_for(connection: Connection, *, run_id=None, priority=Priority.BULK, record=None):
    context = call_context(connection, run_id=run_id, priority=priority, record=record)
    auth = CredentialAuth(connection.credential_id, connection.credential.vendor)
    connector = registry.connector(connection.provider)
    client = HttpClient(context=context, auth=auth, secret_fields=connector.secret_fields)
    return connector.adapter(connection, client)


def connections_pushing(entity: str, operation: str):
    """Connected accounts whose connector queues pushes of (entity, operation)."""
    keys = [c.key for c in registry.connectors() if c.pushes(entity, operation)]
    return Connection.objects.filter(status=ConnectionStatus.CONNECTED, provider__in=keys)


# --- connecting (the connectors' connect services share these) ---------------------------------
def plain_client() -> HttpClient:
    """A client for token and identity endpoints: no budget, no credential, the token timeout."""
    return HttpClient(context=CallContext(), timeout=settings.SYNC_TOKEN_TIMEOUT)


def oauth_refused(error: OAuthError) -> ApplicationError:
    return ApplicationError(
        f"The vendor refused the token ({error.code}); get a new one and connect again.",
        extra={"refresh_token": [error.code]},
    )


def connection_attach(
    *, provider, remote_account_id, name, credential, region="", remote_connection_id=""
) -> Connection:
    """The connection to one vendor account on `credential`: made, or reconnected (the same
    account on a new credential, its bindings and queue kept); an unused credential is deleted."""
    connection = Connection.objects.filter(
        provider=provider, remote_account_id=remote_account_id
    ).first()
    if connection is None:
        if Connection.objects.filter(name=name).exists():
            name = f"{name} ({remote_account_id[:8]})"
        return Connection.objects.create(
            provider=provider,
            remote_account_id=remote_account_id,
            name=name,
            credential=credential,
            region=region,
            remote_connection_id=remote_connection_id,
        )
    old_credential_id = connection.credential_id
    connection.credential = credential
    connection.status = ConnectionStatus.CONNECTED
    connection.region = region or connection.region
    connection.remote_connection_id = remote_connection_id or connection.remote_connection_id
    connection.save()
    if not Connection.objects.filter(credential_id=old_credential_id).exists():
        Credential.objects.filter(pk=old_credential_id).delete()
    return connection
