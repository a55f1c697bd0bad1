"""The staff pages' URLs, mounted at the site root (DESIGN.md "Staff pages")."""

from django.urls import path, re_path

from apps.workspace import journal_views, views

app_name = "workspace"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket"),
    path("quotes/new/", views.quote_new, name="quote-new"),
    path("quotes/totals/", views.quote_totals, name="quote-totals"),
    path("quotes/services/", views.service_search, name="service-search"),
    path("quotes/lines/", views.quote_lines, name="quote-lines"),
    path("quotes/clients/", views.client_results, name="client-results"),
    path("quotes/client/", views.client_pick, name="client-pick"),
    path("quotes/<int:pk>/", views.quote_detail, name="quote"),
    path("quotes/<int:pk>/pdf", views.quote_pdf, name="quote-pdf"),
    # Named actions only: /quotes/<id>/print/ stays the quotes app's printable page.
    re_path(
        r"^quotes/(?P<pk>\d+)/(?P<action>send|accept|reject|revise|convert)/$",
        views.quote_action,
        name="quote-action",
    ),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:pk>/pdf", views.invoice_pdf, name="invoice-pdf"),
    path("clients/<int:pk>/", views.client_detail, name="client"),
    path("reports/receivables/", views.receivables, name="receivables"),
    path("sync/", views.sync_dashboard, name="sync"),
    path("sync/journal/replay/", journal_views.journal_replay, name="journal-replay"),
]
