"""The demo's first sync: the sandbox's books get copies of some demo clients (so the first pull
links them and creates the rest), then a few fields are edited on both sides so that the queue
holds open conflicts, and one auto-resolved one, for a newcomer to decide. Idempotent.

Talks to the sandbox over HTTP through the adapters, like any vendor.
"""

from apps.clients.models import Client
from apps.clients.services import client_update
from apps.core.errors import ApplicationError
from apps.sync.conflicts.models import Conflict, ConflictPolicy, MergePolicy
from apps.sync.engine import pull as engine
from apps.sync.engine.connections import adapter_for
from apps.sync.engine.entities import client_snapshot
from apps.sync.models import Binding, Connection, ConnectionStatus, Entity

from .books.mappers import contact_to_books
from .connector import BOOKS

OVERLAP = 10  # demo clients the books already know (linked by e-mail on the first pull)
HELD = 3  # of those, records with the phone edited differently on both sides (policy manual)


def _pull_all(connections, report) -> None:
    for connection in connections:
        for entity in engine.pull_entities(connection.provider):
            if entity not in (Entity.CLIENTS, Entity.SERVICES):
                continue
            run = engine.pull(connection=connection, entity=entity)
            report.append(
                f"pulled {entity} from {connection.name}: {run.created} created, "
                f"{run.linked} linked, {run.updated} updated, {run.conflicts} conflicts"
            )


def demo_sync_seed() -> list[str]:
    """Overlap, first pull, conflicts. Returns what it did, line by line."""
    connections = list(
        Connection.objects.filter(status=ConnectionStatus.CONNECTED).select_related("credential")
    )
    books = next((c for c in connections if c.provider == BOOKS.key), None)
    if books is None:
        raise ApplicationError("No Zoho Books connection: run sync_connect_sandbox first.")
    report: list[str] = []
    if Conflict.objects.filter(connection=books).exists():
        _pull_all(connections, report)
        return [*report, "the conflict queue was seeded before; nothing added"]

    adapter = adapter_for(books)
    bound = Binding.objects.filter(connection=books, entity=Entity.CLIENTS).values("object_id")
    overlap = list(
        Client.objects.filter(active=True)
        .exclude(email="")
        .exclude(pk__in=bound)
        .order_by("id")[:OVERLAP]
    )
    for client in overlap:
        if adapter.find_by_reference("contacts", client.email) is None:
            adapter.create("contacts", contact_to_books(client_snapshot(client)))
    report.append(f"{len(overlap)} demo clients copied into the sandbox's Zoho Books")

    _pull_all(connections, report)  # the first sync: links the copies, creates the others

    ConflictPolicy.objects.get_or_create(
        connection=books,
        entity=Entity.CLIENTS,
        field="phone",
        defaults={"policy": MergePolicy.MANUAL},
    )
    bindings = {
        b.object_id: b
        for b in Binding.objects.filter(
            connection=books, entity=Entity.CLIENTS, object_id__in=[c.pk for c in overlap]
        )
    }
    linked = [c for c in overlap if c.pk in bindings]
    for number, client in enumerate(linked[:HELD], start=1):
        remote_id = bindings[client.pk].remote_id
        adapter.update("contacts", remote_id, {"phone": f"+27 21 555 90{number:02d}"})
        client_update(client=client, data={"phone": f"+27 82 555 10{number:02d}"})
    if len(linked) > HELD:
        # Remote wins on names (the default): applied and logged, revertible from the queue.
        client = linked[HELD]
        adapter.update(
            "contacts", bindings[client.pk].remote_id, {"contact_name": f"{client.name} (books)"}
        )
        client_update(client=client, data={"name": f"{client.name} (here)"})
    _pull_all([books], report)
    report.append(
        f"{Conflict.objects.filter(connection=books, status='open').count()} open conflicts "
        "in the queue: /admin/sync/conflict/"
    )
    return report
