"""URLs of the sync engine: OAuth connect flows and their callbacks (mounted under /sync/)."""

from django.urls import path

from apps.sync import views

app_name = "sync"

urlpatterns = [
    path("connect/zoho/", views.zoho_connect, name="connect-zoho"),
    path("oauth/zoho/callback/", views.zoho_callback, name="zoho-callback"),
    path("connect/xero/", views.xero_connect, name="connect-xero"),
    path("oauth/xero/callback/", views.xero_callback, name="xero-callback"),
    path("connect/choose/", views.choose_accounts, name="choose"),
]
