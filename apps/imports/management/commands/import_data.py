"""`manage.py import_data ENTITY FILE --user EMAIL [--dry-run] [--format csv|xlsx]`: the import
the admin runs, as that user (their role applies, history names them); last line JSON."""

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ApplicationError
from apps.imports.entities import ENTITIES
from apps.imports.files import FORMATS, check_size
from apps.imports.services import import_run
from apps.users.models import User


class Command(BaseCommand):
    help = "Import clients, services, tax rates, tickets or payments from a CSV or XLSX file."

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=sorted(ENTITIES))
        parser.add_argument("file")
        parser.add_argument("--user", required=True, help="E-mail of the user importing.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would change.")
        parser.add_argument("--format", choices=FORMATS, help="Default: from the file.")
        parser.add_argument(
            "--valid-rows",
            action="store_true",
            help="Import the valid rows and leave out the bad ones (default: all or nothing).",
        )

    def handle(self, *args, entity, file, user, dry_run, format, valid_rows, **options):
        actor = User.objects.filter(email__iexact=user.strip()).first()
        if actor is None:
            raise CommandError(f"--user: no user has the e-mail “{user}”.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"FILE: “{file}” is not a file.")
        try:
            check_size(path.stat().st_size)
            outcome = import_run(
                entity_name=entity,
                content=path.read_bytes(),
                file_name=path.name,
                actor=actor,
                file_format=format,
                dry_run=dry_run,
                valid_rows=valid_rows,
            )
        except (ApplicationError, PermissionDenied) as error:
            raise CommandError(getattr(error, "message", str(error))) from None
        summary = outcome.summary()
        for error in summary["errors"]:
            self.stderr.write(f"Row {error['row']}, {error['field']}: {error['message']}")
        self.stdout.write(json.dumps(summary))
        if summary["errors"] and not dry_run and not outcome.written:
            raise CommandError(
                "Nothing was imported: fix the rows above, or pass --valid-rows to import the "
                "others."
            )
