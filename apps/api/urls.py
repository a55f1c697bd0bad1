"""REST v1 routes: one router, the schema and the browsable docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from apps.api import sync_views, views

app_name = "api"

router = SimpleRouter()
router.register("clients", views.ClientViewSet, basename="client")
router.register("services", views.ServiceViewSet, basename="service")
router.register("tax-rates", views.TaxRateViewSet, basename="tax-rate")
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("quotes", views.QuoteViewSet, basename="quote")
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("payments", views.PaymentViewSet, basename="payment")
router.register("sync/runs", sync_views.SyncRunViewSet, basename="sync-run")
router.register("sync/status", sync_views.SyncStatusViewSet, basename="sync-status")
router.register("sync/conflicts", sync_views.ConflictViewSet, basename="sync-conflict")
router.register("sync/dead-letters", sync_views.DeadLetterViewSet, basename="sync-dead-letter")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
