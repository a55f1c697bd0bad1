"""Query filters of the list endpoints: status, client, dates, `updated_since`."""

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from apps.catalog.models import Service
from apps.clients.models import Client
from apps.invoices.models import Invoice, Payment
from apps.quotes.models import Quote
from apps.tickets.models import Ticket


class UpdatedSinceFilterSet(django_filters.FilterSet):
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed at or after (ISO 8601)."
    )


class ClientFilter(UpdatedSinceFilterSet):
    class Meta:
        model = Client
        fields = ["active"]


class ServiceFilter(UpdatedSinceFilterSet):
    class Meta:
        model = Service
        fields = ["active", "category"]


class TicketFilter(UpdatedSinceFilterSet):
    class Meta:
        model = Ticket
        fields = ["status", "priority", "channel", "client", "assignee"]


class QuoteFilter(UpdatedSinceFilterSet):
    issue_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Quote
        fields = ["status", "client", "ticket"]


class InvoiceFilter(UpdatedSinceFilterSet):
    issue_date = django_filters.DateFromToRangeFilter()
    due_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Invoice
        fields = ["status", "client", "quote"]


class PaymentFilter(UpdatedSinceFilterSet):
    date = django_filters.DateFromToRangeFilter()
    client = django_filters.NumberFilter(field_name="invoice__client")

    class Meta:
        model = Payment
        fields = ["invoice", "mode"]


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter skips an empty value; the API refuses it, naming the parameter, so that
    `?status=` is not read as "every status"."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            for name, values in request.query_params.lists():
                base = name.removesuffix("_after").removesuffix("_before")
                declared = filterset.filters.get(name) or filterset.filters.get(base)
                if declared is None:
                    continue
                if "" in values:
                    raise ValidationError({name: "This filter must not be empty."})
                if isinstance(declared, django_filters.BooleanFilter) and not set(values) <= {
                    "true",
                    "false",
                }:
                    raise ValidationError({name: "Use true or false."})
                if isinstance(
                    declared, django_filters.NumberFilter | django_filters.ModelChoiceFilter
                ) and not all(value.isdigit() for value in values):
                    raise ValidationError({name: "An id (a whole number) is required."})
        return filterset
