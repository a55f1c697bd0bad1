"""Xero's URLs in the sandbox, mounted at /sandbox/xero/ (settings derive XERO_*_URL from it)."""

from django.urls import path, re_path

from apps.sandbox.xero import control_views, identity_views, views

app_name = "sandbox_xero"

urlpatterns = [
    # XERO_LOGIN_URL = /sandbox/xero/login
    path("login/identity/connect/authorize", identity_views.authorize_view, name="authorize"),
    # XERO_IDENTITY_URL = /sandbox/xero/identity
    path("identity/connect/token", identity_views.token_view, name="token"),
    path("identity/connect/revocation", identity_views.revocation_view, name="revocation"),
    # XERO_API_URL = /sandbox/xero/api
    re_path(r"^api/[Cc]onnections$", identity_views.connections_view, name="connections"),
    re_path(
        r"^api/[Cc]onnections/(?P<connection_id>[^/]+)$",
        identity_views.connection_delete_view,
        name="connection",
    ),
    path("api/api.xro/2.0/Organisation", views.organisation_view, name="organisation"),
    path("api/api.xro/2.0/<str:collection>", views.collection_view, name="collection"),
    path("api/api.xro/2.0/<str:collection>/<str:identifier>", views.record_view, name="record"),
    # Sandbox controls, not part of Xero's API.
    path(
        "control/apps/<str:client_id>/intent-to-receive",
        control_views.intent_to_receive_view,
        name="intent_to_receive",
    ),
    path("control/tenants/<str:tenant_id>/events", control_views.events_replay_view, name="events"),
    path(
        "control/tenants/<str:tenant_id>/payments",
        control_views.payment_made_view,
        name="payment_made",
    ),
    path(
        "control/tenants/<str:tenant_id>/payments/delete",
        control_views.payment_deleted_view,
        name="payment_deleted",
    ),
    path(
        "control/tenants/<str:tenant_id>/quotes/convert",
        control_views.quote_converted_view,
        name="quote_converted",
    ),
    path(
        "control/tenants/<str:tenant_id>/status",
        control_views.status_change_view,
        name="status_change",
    ),
    path("control/tenants/<str:tenant_id>/calls", control_views.calls_view, name="calls"),
]
