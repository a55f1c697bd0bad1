"""Query filters of the list endpoints: status, client, dates, `updated_since`."""

import django_filters

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
