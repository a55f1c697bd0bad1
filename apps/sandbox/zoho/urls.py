"""Zoho's URLs in the sandbox, at /sandbox/zoho/ (the settings derive ZOHO_*_URL from it)."""

from django.urls import path, re_path

from apps.sandbox.zoho import views

urlpatterns = [
    path("accounts/oauth/v2/auth", views.authorize, name="sandbox-zoho-authorize"),
    path("accounts/oauth/v2/token", views.token, name="sandbox-zoho-token"),
    path("accounts/oauth/v2/token/revoke", views.revoke, name="sandbox-zoho-revoke"),
    path("accounts/oauth/v2/revoke/token", views.revoke, name="sandbox-zoho-revoke-new"),
    re_path(r"^api/books/v3/(?P<path>.*)$", views.books_api, name="sandbox-zoho-books"),
    re_path(r"^api/crm/v6/(?P<path>.*)$", views.crm_api, name="sandbox-zoho-crm"),
]
