"""URLs of the vendor sandbox, mounted under /sandbox/ when SANDBOX_ENABLED."""

from django.urls import include, path

urlpatterns: list = [
    path("xero/", include("apps.sandbox.xero.urls")),
]
