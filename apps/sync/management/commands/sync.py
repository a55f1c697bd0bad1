"""`manage.py sync …`: connect, run, status, schedules, rotate-keys (DESIGN.md interfaces)."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.core.schedules import apply_schedules
from apps.sync import services
from apps.sync.engine import outbox, registry
from apps.sync.engine import pull as engine
from apps.sync.engine.records import VendorError
from apps.sync.models import Connection, ConnectionStatus, Direction, OutboxItem, OutboxStatus
from apps.sync.selectors import sync_health
from apps.users.services import mfa_secrets_rotate_keys

ENTITIES = ["clients", "services", "quotes", "invoices", "payments", "deals", "all"]


class Command(BaseCommand):
    help = "The sync engine: connect to a vendor, run a sync now, show health, apply schedules."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        connect = sub.add_parser("connect", help="Connect with a refresh token.")
        connect.add_argument("vendor", choices=[a.vendor for a in registry.all_accounts()])
        connect.add_argument("--refresh-token", required=True)
        connect.add_argument("--organization-id", default="")
        connect.add_argument("--region", default="com")
        connect.add_argument("--name", default="")
        connect.add_argument(
            "--crm", action="store_true", help="Zoho: also link the organisation's Zoho CRM."
        )
        connect.add_argument(
            "--bank-account", default="", help="Xero: the Code of the bank account payments go to."
        )
        run = sub.add_parser("run", help="Run a sync now, in this process.")
        run.add_argument("--connection", default="")
        run.add_argument("--entity", choices=ENTITIES, default="all")
        run.add_argument("--direction", choices=["pull", "push", "both"], default="both")
        run.add_argument("--dry-run", action="store_true")
        sub.add_parser("status", help="Health as JSON.")
        sub.add_parser("schedules", help="Apply the declared schedules (idempotent).")
        sub.add_parser(
            "rotate-keys", help="Re-encrypt every token and TOTP secret under the first key."
        )

    def handle(self, *args, **options):
        action = options["action"].replace("-", "_")
        try:
            return getattr(self, f"handle_{action}")(**options)
        except ApplicationError as error:
            raise CommandError(error.message) from error

    # --- connect --------------------------------------------------------------------------------
    def handle_connect(
        self, *, vendor, refresh_token, organization_id, region, name, crm, bank_account="", **_
    ):
        connections = services.connection_connect(
            vendor=vendor,
            refresh_token=refresh_token,
            organization_id=organization_id,
            region=region,
            name=name,
            crm=crm,
            bank_account=bank_account,
        )
        for connection in connections:
            self.stdout.write(
                f"connected: {connection.name} ({connection.provider} "
                f"{connection.remote_account_id})"
            )
            webhooks = services.connection_on_connect(connection=connection)
            if webhooks:
                self.stdout.write(f"  webhooks: {webhooks}")
        self.stdout.write(json.dumps({"connected": [c.name for c in connections]}))

    # --- run ------------------------------------------------------------------------------------
    def handle_run(self, *, connection, entity, direction, dry_run, **_):
        connections = Connection.objects.select_related("credential").filter(
            status=ConnectionStatus.CONNECTED
        )
        if connection:
            connections = connections.filter(name=connection)
            if not connections.exists():
                raise CommandError(f"No connected connection is named {connection!r}.")
        tty = self.stdout.isatty() if hasattr(self.stdout, "isatty") else sys.stdout.isatty()
        summary = {"ok": True, "dry_run": dry_run, "runs": [], "push": {}, "pushed": []}
        for conn in connections:
            entities = engine.pull_entities(conn.provider)
            if entity != "all":
                entities = [e for e in entities if e == entity]
            if direction in ("pull", "both"):
                for name in entities:
                    summary["runs"].append(self._pull(conn, name, dry_run, tty))
            if direction in ("push", "both") and not dry_run:
                started = timezone.now()
                counts = outbox.outbox_drain(
                    connection_id=conn.pk, entity=None if entity == "all" else entity
                )
                summary["push"][conn.name] = counts
                summary["pushed"] += self._pushed(conn, entity, started)
        summary["ok"] = all(r.get("status") == "succeeded" for r in summary["runs"])
        self.stdout.write(json.dumps(summary))
        if not summary["ok"]:
            sys.exit(1)

    @staticmethod
    def _pushed(connection, entity, started) -> list[dict]:
        """What this drain finished: each item sent (or dead-lettered) with its remote id."""
        items = OutboxItem.objects.filter(
            connection=connection,
            finished_at__gte=started,
            status__in=[OutboxStatus.DONE, OutboxStatus.DEAD],
        ).order_by("finished_at", "id")
        if entity != "all":
            items = items.filter(entity=entity)
        return [
            {
                "connection": connection.name,
                "entity": item.entity,
                "operation": item.operation,
                "action": item.intent.get("status") or item.intent.get("action") or "",
                "object_id": item.object_id,
                "reference": item.reference,
                "status": item.status,
                "remote_id": item.remote_id,
                "error": item.last_error if item.status == OutboxStatus.DEAD else "",
            }
            for item in items
        ]

    def _pull(self, connection, entity, dry_run, tty) -> dict:
        def progress(run):
            if tty:
                self.stdout.write(
                    f"\r{connection.name} {entity}: page {run.pages}, {run.records} records, "
                    f"{run.created} created, {run.updated} updated, {run.linked} linked",
                    ending="",
                )
                self.stdout.flush()

        try:
            run = engine.pull(
                connection=connection, entity=entity, dry_run=dry_run, on_progress=progress
            )
        except (VendorError, ApplicationError) as error:
            if tty:
                self.stdout.write("")
            return {
                "connection": connection.name,
                "entity": entity,
                "direction": "pull",
                "status": "failed",
                "error": str(error),
            }
        if tty:
            self.stdout.write("")
        return {
            "connection": connection.name,
            "entity": entity,
            "direction": Direction.PULL,
            "status": run.status,
            "run": run.pk,
            "pages": run.pages,
            "records": run.records,
            "requests": run.requests,
            "created": run.created,
            "updated": run.updated,
            "linked": run.linked,
            "unchanged": run.unchanged,
            "conflicts": run.conflicts,
            "errors": run.errors,
        }

    # --- the rest -------------------------------------------------------------------------------
    def handle_status(self, **_):
        self.stdout.write(json.dumps(sync_health(), default=str))

    def handle_schedules(self, **_):
        result = apply_schedules()
        self.stdout.write(json.dumps(dict(result)))

    def handle_rotate_keys(self, **_):
        # TOTP secrets share the keys, so one rotation covers both.
        count = services.credentials_rotate_keys()
        mfa_count = mfa_secrets_rotate_keys()
        self.stdout.write(json.dumps({"reencrypted": count, "mfa_reencrypted": mfa_count}))
