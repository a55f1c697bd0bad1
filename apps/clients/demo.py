"""Demo clients: fifty South African people and companies (fixtures/demo_clients.json), loaded
through the client services.

`load_demo_clients()` is idempotent: a client whose e-mail is already on file is not created again.
"""

import json
from pathlib import Path

from django.conf import settings
from django.db import transaction

from apps.clients.selectors import client_find_by_email
from apps.clients.services import client_create


def demo_client_rows() -> list[dict[str, str]]:
    """The fifty clients as service arguments, as kept in fixtures/demo_clients.json."""
    path = Path(settings.BASE_DIR) / "fixtures" / "demo_clients.json"
    return json.loads(path.read_text(encoding="utf-8"))["clients"]


@transaction.atomic
def load_demo_clients(*, actor=None) -> dict[str, int]:
    """Create the demo clients not already on file (matched by e-mail); returns how many."""
    created = 0
    for row in demo_client_rows():
        if client_find_by_email(email=row["email"]) is not None:
            continue
        client_create(**row, actor=actor)
        created += 1
    return {"clients": created}
