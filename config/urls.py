"""The project's URL map: each app mounts its own urls module here."""

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from apps.core.views import healthz

# The admin login goes through allauth: rate limits and MFA apply there too.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Syncdesk"
admin.site.site_title = "Syncdesk"
admin.site.index_title = "Back office"

urlpatterns = [
    path("", include("apps.workspace.urls")),
    path("favicon.ico", RedirectView.as_view(url="/static/favicon.svg", permanent=True)),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("quotes/", include("apps.quotes.urls")),
    path("invoices/", include("apps.invoices.urls")),
    path("api/v1/", include("apps.api.urls")),
    path("sync/", include("apps.sync.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("apps.sandbox.urls")))
