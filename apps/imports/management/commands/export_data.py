"""`manage.py export_data ENTITY [--format csv|xlsx] [--output FILE]`: every row of a list,
streamed to a file (or CSV to standard output), formula cells neutralised."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.imports.exports import SPECS, export_csv_chunks, export_spec, export_xlsx
from apps.imports.files import CSV, FORMATS, XLSX


class Command(BaseCommand):
    help = "Export clients, services, tax rates, tickets, quotes, invoices, payments or bills."

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=sorted(SPECS))
        parser.add_argument("--format", choices=FORMATS, default=CSV)
        parser.add_argument("--output", help="File to write (default: standard output, CSV).")

    def handle(self, *args, entity, format, output, **options):
        spec = export_spec(entity)
        queryset = spec.queryset()
        if format == XLSX:
            if not output:
                raise CommandError("--output: an XLSX export needs a file to write to.")
            with Path(output).open("wb") as target:
                export_xlsx(spec, queryset, target)
            return
        if not output:
            for chunk in export_csv_chunks(spec, queryset):
                sys.stdout.write(chunk)
            return
        with Path(output).open("w", encoding="utf-8", newline="") as target:
            for chunk in export_csv_chunks(spec, queryset):
                target.write(chunk)
