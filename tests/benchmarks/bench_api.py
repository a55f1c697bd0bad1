"""api: the invoice list (100 a page) at 100,000 invoices and a quote create with two lines, over
the API with a Bearer token; and the list's throughput against a trivial endpoint (an
authenticated DRF view returning a constant, with the same authentication, throttling and
middleware), measured in the same run and process.

`ratio` is the list's requests per second over the trivial view's (1.0: the list costs nothing
beyond the plumbing every request pays).
"""

import statistics
import time

import pytest
from django.db import connection
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from apps.api.base import ApiViewSet
from apps.api.services import api_token_create
from apps.invoices.models import Invoice
from tests.benchmarks.report import count_queries, emit, median_ms
from tests.quotes.admin_data import bulk_invoices
from tests.quotes.factories import DocClientFactory, DocServiceFactory

ROWS = 100_000
PAGE = 100


class ConstantView(APIView):
    authentication_classes = ApiViewSet.authentication_classes
    throttle_classes = ApiViewSet.throttle_classes
    permission_classes = ApiViewSet.permission_classes
    action_permissions = {"": ("invoices.view_invoice",)}

    def get(self, request):
        return Response({"ok": True})


def alternated_medians_ms(first, second, *, repeat: int) -> tuple[float, float]:
    for _ in range(2):
        first(), second()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for action, into in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            action()
            into.append((time.perf_counter() - started) * 1000)
    return tuple(round(statistics.median(found), 2) for found in samples)


urlpatterns = [
    path("bench/constant/", ConstantView.as_view()),
    path("", include("config.urls")),
]


@pytest.mark.django_db
def test_bench_api(admin_role_user, settings):
    settings.ROOT_URLCONF = __name__
    # Throttling runs (it is part of every request's cost) with a budget the benchmark cannot spend.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "1000000/min"},
    }
    bulk_invoices(ROWS, batch_size=5000)
    assert Invoice.objects.count() == ROWS
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Invoice._meta.db_table}")
    _, token = api_token_create(user=admin_role_user, name="bench")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    list_url = f"/api/v1/invoices/?page_size={PAGE}"

    def invoice_list():
        response = api.get(list_url)
        assert response.status_code == 200 and len(response.json()["results"]) == PAGE

    def constant():
        response = api.get("/bench/constant/")
        assert response.status_code == 200

    client = DocClientFactory()
    services = DocServiceFactory.create_batch(2)
    body = {
        "client": client.pk,
        "lines": [
            {"service": services[0].pk, "quantity": "2"},
            {"name": "Courier", "rate": "120.00", "tax_rate": "15"},
        ],
    }

    def quote_create():
        response = api.post("/api/v1/quotes/", body, format="json")
        assert response.status_code == 201

    invoice_list()  # the token's first use of the minute writes last_used_at: not measured
    with count_queries() as list_queries:
        invoice_list()
    with count_queries() as create_queries:
        quote_create()
    # Alternated, so that the machine's load at any moment weighs on both alike.
    list_ms, constant_ms = alternated_medians_ms(invoice_list, constant, repeat=31)
    emit(
        "api",
        rows=ROWS,
        page=PAGE,
        list_median_ms=list_ms,
        list_queries=len(list_queries),
        quote_create_median_ms=median_ms(quote_create, repeat=15),
        quote_create_queries=len(create_queries),
        constant_median_ms=constant_ms,
        ratio=round(constant_ms / list_ms, 3),
        database=connection.vendor,
    )
