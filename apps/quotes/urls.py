"""URLs of the quotes app, mounted under /quotes/."""

from django.urls import path

from apps.quotes import views

app_name = "quotes"
urlpatterns = [path("<int:pk>/print/", views.quote_print, name="print")]
