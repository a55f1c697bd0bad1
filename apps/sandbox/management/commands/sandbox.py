"""`manage.py sandbox seed|reset|token|deliver|fault|calls`: fill, empty, steer, read it."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.sandbox import faults, ratelimit, seed, webhooks


def _xero(name: str):
    """The Xero sibling's seed/reset function, when that app is present."""
    try:
        from apps.sandbox.xero import seed as xero_seed
    except ImportError:
        return None
    return getattr(xero_seed, name, None)


class Command(BaseCommand):
    help = "Seed, reset, mint credentials for, deliver webhooks of, or set faults in the sandbox."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        seeding = sub.add_parser("seed", help="Create or top up emulated organisations.")
        seeding.add_argument("--org-name", default="Sandbox Trading (Pty) Ltd")
        seeding.add_argument("--contacts", type=int, default=50)
        seeding.add_argument("--items", type=int, default=8)
        seeding.add_argument("--documents", type=int, default=6)
        seeding.add_argument("--crm-contacts", type=int, default=20)
        seeding.add_argument("--deals", type=int, default=10)
        seeding.add_argument("--client-id", default="")
        seeding.add_argument("--client-secret", default="")
        seeding.add_argument("--books-webhook-url", default="")
        seeding.add_argument("--xero-webhook-url", default="")
        seeding.add_argument("--skip-xero", action="store_true")
        seeding.add_argument(
            "--callback-base-url",
            action="append",
            dest="callback_bases",
            metavar="URL",
            help="Origin of Syncdesk whose OAuth callbacks the demo clients may redirect to "
            "(repeatable; default: SANDBOX_BASE_URL's origin).",
        )
        sub.add_parser("reset", help="Remove everything the sandbox holds.")
        minting = sub.add_parser("token", help="Print fresh credentials for a client.")
        minting.add_argument("vendor", choices=["zoho"])
        minting.add_argument("--org-name", default="")
        minting.add_argument("--client-id", default="")
        sub.add_parser("deliver", help="Send webhooks that are due now.")
        calls = sub.add_parser(
            "calls", help="Print the calls an account received and how many were answered 429."
        )
        calls.add_argument("vendor", choices=["zoho", "xero"])
        calls.add_argument("account", help="Zoho organization_id or Xero tenant id")
        fault = sub.add_parser("fault", help="Set (or --clear) an account's fault plan.")
        fault.add_argument("vendor", choices=["zoho", "xero"])
        fault.add_argument("account", help="Zoho organization_id or Xero tenant id")
        fault.add_argument("--clear", action="store_true")
        fault.add_argument("--error-share", type=float)
        fault.add_argument("--error-status", type=int)
        fault.add_argument("--timeout-share", type=float)
        fault.add_argument("--timeout-seconds", type=float)
        fault.add_argument("--token-lifetime-seconds", type=int)
        fault.add_argument("--slow-ms", type=int)
        fault.add_argument("--storm-seconds", type=float)
        fault.add_argument("--webhook-duplicate", action="store_true", default=None)
        fault.add_argument("--webhook-out-of-order", action="store_true", default=None)

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(options)

    def _print(self, payload: dict) -> None:
        self.stdout.write(json.dumps(payload))

    def _seed(self, options):
        self._print(
            seed.zoho_seed(
                org_name=options["org_name"],
                contacts=options["contacts"],
                items=options["items"],
                documents=options["documents"],
                crm_contacts=options["crm_contacts"],
                deals=options["deals"],
                client_id=options["client_id"],
                client_secret=options["client_secret"],
                books_webhook_url=options["books_webhook_url"],
                callback_bases=options["callback_bases"],
            )
        )
        seed.webhook_schedule_ensure()
        seed_xero = None if options["skip_xero"] else _xero("seed_xero")
        if seed_xero is not None:
            answer = seed_xero(
                webhook_url=options["xero_webhook_url"],
                redirect_uris=seed.callback_uris(
                    seed.XERO_CALLBACK_PATH, options["callback_bases"]
                ),
            )
            self._print({"vendor": "xero", **answer} if isinstance(answer, dict) else answer)
        seed.tables_analyze()  # after the bulk inserts, outside their transaction

    def _reset(self, options):
        seed.sandbox_reset()
        reset_xero = _xero("reset_xero")
        if reset_xero is not None:
            reset_xero()
        self.stdout.write("The sandbox is empty.")

    def _token(self, options):
        try:
            self._print(
                seed.zoho_token(org_name=options["org_name"], client_id=options["client_id"])
            )
        except ValueError as error:
            raise CommandError(str(error)) from error

    def _deliver(self, options):
        self._print(webhooks.webhook_deliver_due().__dict__)

    def _calls(self, options):
        counts = ratelimit.call_counts(vendor=options["vendor"], account=options["account"])
        self._print({"vendor": options["vendor"], "account": options["account"], **counts.__dict__})

    def _fault(self, options):
        vendor, account = options["vendor"], options["account"]
        if options["clear"]:
            faults.fault_plan_clear(vendor=vendor, account=account)
            self.stdout.write(f"Faults cleared for {vendor} {account}.")
            return
        names = [
            "error_share",
            "error_status",
            "timeout_share",
            "timeout_seconds",
            "token_lifetime_seconds",
            "slow_ms",
            "webhook_duplicate",
            "webhook_out_of_order",
        ]
        changes = {name: options[name] for name in names if options[name] is not None}
        try:
            if changes:
                faults.fault_plan_set(vendor=vendor, account=account, **changes)
            if options["storm_seconds"]:
                faults.fault_storm(
                    vendor=vendor, account=account, vendor_seconds=options["storm_seconds"]
                )
        except (ValueError, ValidationError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Faults set for {vendor} {account}.")
