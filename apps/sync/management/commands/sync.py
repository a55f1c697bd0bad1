"""`manage.py sync …`: connect, run, status, schedules, rotate-keys (DESIGN.md interfaces)."""

import argparse
import json
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.core.schedules import apply_schedules
from apps.sync import services
from apps.sync.engine import outbox, reconcile, registry
from apps.sync.engine import pull as engine
from apps.sync.engine.plan import sync_plan
from apps.sync.engine.records import VendorError
from apps.sync.matching.selectors import review_summary
from apps.sync.matching.services import match_plan_start
from apps.sync.models import Connection, ConnectionStatus, Direction, OutboxItem, OutboxStatus
from apps.sync.selectors import sync_health
from apps.users.services import mfa_secrets_rotate_keys


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--since: {value!r} is not a date (YYYY-MM-DD)") from None


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
        connect.add_argument(
            "--review",
            action="store_true",
            help="Hold the first sync for an Admin's matching review (Sync → Matching reviews).",
        )
        run = sub.add_parser("run", help="Run a sync now, in this process.")
        run.add_argument("--connection", default="")
        run.add_argument("--entity", choices=ENTITIES, default="all")
        run.add_argument("--direction", choices=["pull", "push", "both"], default="both")
        run.add_argument("--dry-run", action="store_true")
        reconcile = sub.add_parser(
            "reconcile", help="Compare our documents with the vendor's; JSON of the differences."
        )
        reconcile.add_argument("--connection", default="")
        reconcile.add_argument(
            "--since", default=None, type=_date, help="Only documents issued from this date."
        )
        plan = sub.add_parser(
            "plan", help="What a sync would do now, record by record; writes nothing."
        )
        plan.add_argument("--connection", default="")
        plan.add_argument("--entity", choices=ENTITIES, default="all")
        plan.add_argument("--direction", choices=["pull", "push", "both"], default="both")
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
        self,
        *,
        vendor,
        refresh_token,
        organization_id,
        region,
        name,
        crm,
        bank_account="",
        review=False,
        **_,
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
        reviews = []
        for connection in connections:
            self.stdout.write(
                f"connected: {connection.name} ({connection.provider} "
                f"{connection.remote_account_id})"
            )
            if review:
                # Read the account now; its first sync waits for the Admin's approval.
                plan = match_plan_start(connection=connection, source="cli", now=True)
                reviews.append(review_summary(plan))
                self.stdout.write(f"  {self._review_line(plan)}")
            webhooks = services.connection_on_connect(connection=connection)
            if webhooks:
                self.stdout.write(f"  webhooks: {webhooks}")
        summary = {"connected": [c.name for c in connections]}
        if review:
            summary["reviews"] = reviews
        self.stdout.write(json.dumps(summary))

    @staticmethod
    def _review_line(plan) -> str:
        if plan.status == "applied":
            return "matching review: the account holds nothing to match; no review needed"
        if plan.status == "failed":
            return f"matching review #{plan.pk} could not read the account: {plan.last_error}"
        counts = review_summary(plan)["entities"]
        parts = [
            f"{entity}: {c['link']} to link, {c['create']} to create, {c['choose']} to choose"
            for entity, c in counts.items()
        ]
        return (
            f"matching review #{plan.pk} waits for an Admin (Sync → Matching reviews): "
            + "; ".join(parts)
        )

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

    # --- reconcile ------------------------------------------------------------------------------
    def handle_reconcile(self, *, connection, since, **_):
        keys = [c.key for c in registry.connectors() if c.reconciles]
        connections = Connection.objects.select_related("credential").filter(
            status=ConnectionStatus.CONNECTED, provider__in=keys
        )
        if connection:
            connections = connections.filter(name=connection)
            if not connections.exists():
                raise CommandError(f"No connected connection named {connection!r} reconciles.")
        summaries, failed = [], False
        for conn in connections:
            try:
                run = reconcile.reconcile_run(connection=conn, since=since)
            except VendorError as error:
                failed = True
                summaries.append({"connection": conn.name, "error": error.message})
                continue
            summary = reconcile.reconcile_summary(run)
            self.stdout.write(
                f"{conn.name}: {run.checked} checked, {run.matching} matching, "
                f"{run.difference_count} difference(s), {run.requests} vendor call(s)"
            )
            summaries.append(summary)
        # One connection: its summary is the last line; several: a list of them.
        self.stdout.write(json.dumps(summaries[0] if len(summaries) == 1 else summaries))
        if failed:
            sys.exit(1)

    # --- plan -----------------------------------------------------------------------------------
    def handle_plan(self, *, connection, entity, direction, **_):
        connections = Connection.objects.select_related("credential").filter(
            status=ConnectionStatus.CONNECTED
        )
        if connection:
            connections = connections.filter(name=connection)
            if not connections.exists():
                raise CommandError(f"No connected connection is named {connection!r}.")
        plans = []
        for conn in connections:
            try:
                plans.append(sync_plan(connection=conn, entity=entity, direction=direction))
            except (VendorError, ApplicationError) as error:
                plans.append({"connection": conn.name, "error": str(error)})
        for found in plans:
            self.stdout.write(self._plan_text(found))
        ok = not any("error" in p for p in plans)
        self.stdout.write(json.dumps({"ok": ok, "plans": plans}, default=str))
        if not ok:
            sys.exit(1)

    @staticmethod
    def _plan_text(plan: dict) -> str:
        """The plan for people: one line per action, before the JSON line."""
        if "error" in plan:
            return f"{plan['connection']}: could not plan: {plan['error']}"
        lines = [f"{plan['connection']}:" + (f" {plan['held']}" if plan["held"] else "")]
        for entry in plan["pull"]:
            lines.append(
                f"  pull {entry['entity']}: {entry['created']} to create, {entry['updated']} to "
                f"update, {entry['linked']} to link, {entry['conflicts']} conflicts"
            )
            for action in entry["actions"]:
                changes = action.get("changes") or {}
                what = ", ".join(f"{k}: {v[0]!r} -> {v[1]!r}" for k, v in changes.items())
                if action["action"] == "conflict":
                    what = (
                        f"{action['field']}: ours {action['ours']!r}, theirs "
                        f"{action['theirs']!r} ({action['policy']})"
                    )
                lines.append(f"    {action['action']} {action['label']} {what}".rstrip())
        for action in plan["push"]:
            lines.append(
                f"  push {action['operation']} {action['entity']} {action['label']} "
                + ", ".join(f"{k}: {v[0]!r} -> {v[1]!r}" for k, v in action["changes"].items())
            )
        return "\n".join(lines)

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
