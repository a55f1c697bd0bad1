"""admin_changelist: the invoice list in the admin at 100,000 invoices, as an admin with MFA.

The rows are bulk-inserted (no services: only the list is measured). On PostgreSQL the table is
analysed first, as autovacuum would have done, so the estimated count is available.
"""

import pytest
from django.db import connection
from django.urls import reverse

from apps.invoices.models import Invoice
from tests.benchmarks.report import count_queries, emit, median_ms
from tests.quotes.admin_data import bulk_invoices

ROWS = 100_000


@pytest.mark.django_db
def test_bench_admin_changelist(admin_client_mfa):
    bulk_invoices(ROWS, batch_size=5000)
    assert Invoice.objects.count() == ROWS
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Invoice._meta.db_table}")
    url = reverse("admin:invoices_invoice_changelist")

    def open_list():
        response = admin_client_mfa.get(url)
        assert response.status_code == 200

    with count_queries() as queries:
        open_list()
    emit(
        "admin_changelist",
        rows=ROWS,
        median_ms=median_ms(open_list, repeat=15),
        queries=len(queries),
        database=connection.vendor,
    )
