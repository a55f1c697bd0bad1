"""Warning before a refresh token dies of disuse: some vendors (the connector's Accounts declares
how long, `refresh_token_disuse_lifetime`) expire a refresh token nobody used for a while, and
the connection then needs an Admin to reconnect. One e-mail per token, a week ahead (settings.
SYNC_TOKEN_DISUSE_WARNING_DAYS), read from when the credential last used it (`refreshed_at`:
every refresh spends the refresh token and stores the new one)."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.utils import timezone

from apps.sync.engine import registry
from apps.sync.models import ConnectionStatus, Credential


def refresh_token_expires_at(credential: Credential, lifetime: timedelta):
    """When the stored refresh token would die unused (vendor time scaled to ours)."""
    last_used = credential.refreshed_at or credential.created_at
    return last_used + lifetime * settings.SYNC_CLOCK_SCALE


def credentials_warn_disuse() -> int:
    """E-mail Admins once about every refresh token that would expire from disuse within the
    warning lead; returns how many tokens the e-mail named (0: no e-mail)."""
    now = timezone.now()
    lead = timedelta(days=settings.SYNC_TOKEN_DISUSE_WARNING_DAYS) * settings.SYNC_CLOCK_SCALE
    lines = []
    with transaction.atomic():
        for accounts in registry.all_accounts():
            lifetime = accounts.refresh_token_disuse_lifetime
            if lifetime is None:
                continue
            credentials = (
                Credential.objects.select_for_update()
                .filter(vendor=accounts.vendor)
                .filter(pk__in=_in_use(accounts.vendor))
            )
            for credential in credentials:
                last_used = credential.refreshed_at or credential.created_at
                expires_at = refresh_token_expires_at(credential, lifetime)
                if now < expires_at - lead or credential.disuse_warned_for == last_used:
                    continue
                names = ", ".join(
                    credential.connections.exclude(status=ConnectionStatus.DISABLED).values_list(
                        "name", flat=True
                    )
                )
                lines.append(
                    f"{accounts.label} ({names}): the refresh token was last used "
                    f"{timezone.localtime(last_used):%d %b %Y %H:%M}; unused, it expires "
                    f"{timezone.localtime(expires_at):%d %b %Y %H:%M}. Run a sync of the "
                    "connection before then (any push or pull renews it), or reconnect it "
                    "afterwards."
                )
                credential.disuse_warned_for = last_used
                credential.save(update_fields=["disuse_warned_for"])
        if lines:
            body = "\n".join(lines)
            transaction.on_commit(
                lambda: mail_admins(
                    "A vendor token expires soon from disuse", body, fail_silently=True
                )
            )
    return len(lines)


def _in_use(vendor: str):
    """Credentials a live connection still uses (a disconnected one was revoked; one that needs
    re-authorisation is already dead)."""
    return Credential.objects.filter(
        vendor=vendor, connections__status=ConnectionStatus.CONNECTED
    ).values("pk")
