"""URLs of sync, mounted under /sync/: each vendor's OAuth connect flow and each connector's
webhook receiver, as the registry lists them, and the shared organisation chooser."""

from django.urls import path

from apps.sync import views
from apps.sync.engine import registry
from apps.sync.webhooks.views import receive

app_name = "sync"

urlpatterns = [path("connect/choose/", views.choose_accounts, name="choose")]
for accounts in registry.all_accounts():
    urlpatterns += accounts.urlpatterns()
for connector, source in registry.webhook_sources():
    urlpatterns.append(
        path(f"webhooks/{source.path}", receive, {"source": connector.key}, name=source.url_name)
    )
