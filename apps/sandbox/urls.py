"""URLs of the vendor sandbox, mounted under /sandbox/ when SANDBOX_ENABLED."""

from django.urls import include, path

from apps.sandbox.views import overview

urlpatterns: list = [
    path("", overview, name="sandbox-overview"),
    path("zoho/", include("apps.sandbox.zoho.urls")),
    path("xero/", include("apps.sandbox.xero.urls")),
]
