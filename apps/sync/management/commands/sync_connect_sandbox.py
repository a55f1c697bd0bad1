"""`manage.py sync_connect_sandbox [--pull]`: seed the vendor sandbox, connect to its Zoho Books
organisation and Xero tenants, optionally pull clients and services — the demo's sync step.

The sandbox is part of the web server, which `make demo` starts only afterwards, so while this
runs the same Django application is served on SANDBOX_BASE_URL's address from a thread.
"""

import io
import json
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.wsgi import get_wsgi_application

from apps.core.errors import ApplicationError
from apps.sync import services
from apps.sync.engine import pull as engine
from apps.sync.matching.models import PlanStatus
from apps.sync.matching.selectors import review_summary
from apps.sync.matching.services import match_plan_apply, match_plan_start
from apps.sync.models import ConnectionStatus


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _ThreadingServer(WSGIServer):
    from socketserver import ThreadingMixIn as _Mixin

    daemon_threads = True

    def process_request(self, request, client_address):
        thread = threading.Thread(
            target=self._Mixin.process_request_thread,
            args=(self, request, client_address),
            daemon=True,
        )
        thread.start()


@contextmanager
def serving_sandbox():
    """Serve this application on the sandbox's address while the block runs (if nothing else
    answers there already)."""
    parts = urlsplit(settings.SANDBOX_BASE_URL)
    try:
        server = make_server(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            get_wsgi_application(),
            server_class=_ThreadingServer,
            handler_class=_QuietHandler,
        )
    except OSError:
        yield  # the address is taken: assume the web server is already running
        return
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _counts(plan) -> str:
    counts = review_summary(plan)["entities"]
    return "; ".join(
        f"{entity}: {c['link']} linked, {c['create']} created, {c['choose']} settled on the "
        "best match"
        for entity, c in counts.items()
    )


class Command(BaseCommand):
    help = "Seed the sandbox and connect Syncdesk to it (Zoho Books and Xero); optionally pull."

    def add_arguments(self, parser):
        parser.add_argument("--pull", action="store_true", help="Pull clients and services.")

    @staticmethod
    def _review(connection) -> str:
        """The matching review an Admin would do on a first connection, approved at once: a
        demo has nobody to wait for (and says so)."""
        plan = match_plan_start(connection=connection, source="demo", now=True)
        if plan.status == PlanStatus.OPEN:
            plan = match_plan_apply(plan=plan, choose_best=True)
            return (
                f"matching review #{plan.pk} of {connection.name} approved automatically "
                f"(demo): {_counts(plan)}"
            )
        if plan.status == PlanStatus.APPLIED:
            return f"matching review of {connection.name}: nothing to match"
        return f"matching review #{plan.pk} of {connection.name}: {plan.last_error}"

    def handle(self, *args, pull=False, **options):
        if not settings.SANDBOX_ENABLED:
            raise CommandError("SANDBOX_ENABLED is off: there is no sandbox to connect to.")
        seeded = io.StringIO()
        call_command("sandbox", "seed", stdout=seeded)
        answers = {}
        for line in seeded.getvalue().splitlines():
            if line.startswith("{"):
                body = json.loads(line)
                answers[body.get("vendor", "zoho")] = body
        connections = []
        with serving_sandbox():
            try:
                if "zoho" in answers:
                    connections += services.connection_connect(
                        vendor="zoho",
                        refresh_token=answers["zoho"]["refresh_token"],
                        organization_id=answers["zoho"].get("organization_id", ""),
                        name="Zoho Books (sandbox)",
                        crm=True,  # deals: the demo's quotes reach the organisation's CRM
                    )
                if "xero" in answers:
                    connections += services.connection_connect(
                        vendor="xero",
                        refresh_token=answers["xero"]["refresh_token"],
                        name="Xero (sandbox)",
                    )
            except ApplicationError as error:
                raise CommandError(error.message) from error
            for connection in connections:
                self.stdout.write(f"sync: connected {connection.name}")
                self.stdout.write(f"sync: {self._review(connection)}")
            if pull:
                for connection in connections:
                    if connection.status != ConnectionStatus.CONNECTED:
                        continue
                    for entity in ("clients", "services"):
                        if entity not in engine.pull_entities(connection.provider):
                            continue  # CRM: clients only
                        run = engine.pull(connection=connection, entity=entity)
                        self.stdout.write(
                            f"sync: pulled {entity} from {connection.name}: "
                            f"{run.created} created, {run.linked} linked, {run.updated} updated"
                        )
        self.stdout.write(json.dumps({"connected": [c.name for c in connections]}))
