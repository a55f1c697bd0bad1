"""URLs of the sync engine: OAuth connect flows and their callbacks, and the vendor webhooks
(mounted under /sync/)."""

from django.urls import path

from apps.sync import views, webhook_views

app_name = "sync"

urlpatterns = [
    path("connect/zoho/", views.zoho_connect, name="connect-zoho"),
    path("oauth/zoho/callback/", views.zoho_callback, name="zoho-callback"),
    path("connect/xero/", views.xero_connect, name="connect-xero"),
    path("oauth/xero/callback/", views.xero_callback, name="xero-callback"),
    path("connect/choose/", views.choose_accounts, name="choose"),
    path("webhooks/zoho/books/", webhook_views.zoho_books_webhook, name="webhook-zoho-books"),
    path("webhooks/zoho/crm/", webhook_views.zoho_crm_notification, name="webhook-zoho-crm"),
]
