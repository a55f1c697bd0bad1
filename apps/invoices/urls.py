"""URLs of the invoices app, mounted under /invoices/."""

from django.urls import path

from apps.invoices import views

app_name = "invoices"
urlpatterns = [path("<int:pk>/print/", views.invoice_print, name="print")]
