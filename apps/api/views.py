"""REST v1 views: each action checks shape with a serializer, then calls one service or selector.

The record a write returns is re-read through the same selector as a GET, so both answer alike.
"""

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.api import filters as api_filters
from apps.api import serializers as s
from apps.api.base import ApiViewSet, state_conflicts
from apps.catalog import services as catalog_services
from apps.catalog.models import Service, TaxRate
from apps.clients import services as client_services
from apps.clients.models import Client
from apps.invoices import selectors as invoice_selectors
from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice, Payment
from apps.quotes import selectors as quote_selectors
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.tickets import services as ticket_services
from apps.tickets.models import Ticket

LINE_INPUT_FIELDS = ("service", "name", "description", "quantity", "rate", "tax_rate")


def line_dicts(lines) -> list[dict]:
    return [{k: v for k, v in line.items() if k in LINE_INPUT_FIELDS} for line in lines]


# --- clients, services, tax rates ----------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List clients", responses=s.ClientSerializer(many=True)),
    retrieve=extend_schema(summary="Get a client", responses=s.ClientSerializer),
    create=extend_schema(
        summary="Create a client",
        request=s.ClientInputSerializer,
        responses={201: s.ClientSerializer},
    ),
    partial_update=extend_schema(
        summary="Update a client",
        request=s.ClientInputSerializer(partial=True),
        responses=s.ClientSerializer,
    ),
)
class ClientViewSet(ApiViewSet):
    filterset_class = api_filters.ClientFilter
    search_fields = ["name", "company", "email", "phone"]
    ordering_fields = ["id", "name", "created_at"]
    sync_model = Client
    location_name = "client"
    action_permissions = {
        "list": ("clients.view_client",),
        "retrieve": ("clients.view_client",),
        "create": ("clients.add_client",),
        "partial_update": ("clients.change_client",),
    }
    http_method_names = ["get", "post", "patch", "head"]

    def get_queryset(self):
        return Client.objects.all()

    def list(self, request):
        return self.list_response(self.get_queryset(), s.ClientSerializer)

    def retrieve(self, request, pk=None):
        return self.output(s.ClientSerializer, self.get_object())

    def create(self, request):
        data = s.ClientInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        active = values.pop("active", True)
        with transaction.atomic():
            client = client_services.client_create(**values, actor=request.user)
            if not active:
                client = client_services.client_deactivate(client=client, actor=request.user)
        return self.output(s.ClientSerializer, client, status_code=201)

    def partial_update(self, request, pk=None):
        client = self.get_object()
        data = s.ClientInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        active = values.pop("active", None)
        with self.matching(client):
            if values:
                client = client_services.client_update(
                    client=client, data=values, actor=request.user
                )
            if active is False and client.active:
                client = client_services.client_deactivate(client=client, actor=request.user)
            elif active is True and not client.active:
                client = client_services.client_reactivate(client=client, actor=request.user)
        client.refresh_from_db()
        return self.output(s.ClientSerializer, client)


@extend_schema_view(
    list=extend_schema(summary="List services", responses=s.ServiceSerializer(many=True)),
    retrieve=extend_schema(summary="Get a service", responses=s.ServiceSerializer),
    create=extend_schema(
        summary="Create a service (Admins)",
        request=s.ServiceInputSerializer,
        responses={201: s.ServiceSerializer},
    ),
    partial_update=extend_schema(
        summary="Update a service (Admins)",
        request=s.ServiceInputSerializer(partial=True),
        responses=s.ServiceSerializer,
    ),
)
class ServiceViewSet(ApiViewSet):
    filterset_class = api_filters.ServiceFilter
    search_fields = ["name", "sku", "category", "description"]
    ordering_fields = ["id", "name", "created_at"]
    sync_model = Service
    location_name = "service"
    action_permissions = {
        "list": ("catalog.view_service",),
        "retrieve": ("catalog.view_service",),
        "create": ("catalog.add_service",),
        "partial_update": ("catalog.change_service",),
    }
    http_method_names = ["get", "post", "patch", "head"]

    def get_queryset(self):
        return Service.objects.select_related("tax_rate")

    def list(self, request):
        return self.list_response(self.get_queryset(), s.ServiceSerializer)

    def retrieve(self, request, pk=None):
        return self.output(s.ServiceSerializer, self.get_object())

    def create(self, request):
        data = s.ServiceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        active = values.pop("active", True)
        with transaction.atomic():
            service = catalog_services.service_create(**values, actor=request.user)
            if not active:
                service = catalog_services.service_deactivate(service=service, actor=request.user)
        return self.output(s.ServiceSerializer, service, status_code=201)

    def partial_update(self, request, pk=None):
        service = self.get_object()
        data = s.ServiceInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        active = values.pop("active", None)
        with self.matching(service):
            if values:
                service = catalog_services.service_update(
                    service=service, data=values, actor=request.user
                )
            if active is False and service.active:
                service = catalog_services.service_deactivate(service=service, actor=request.user)
            elif active is True and not service.active:
                service = catalog_services.service_reactivate(service=service, actor=request.user)
        service.refresh_from_db()
        return self.output(s.ServiceSerializer, service)


@extend_schema_view(
    list=extend_schema(summary="List tax rates", responses=s.TaxRateSerializer(many=True)),
    retrieve=extend_schema(summary="Get a tax rate", responses=s.TaxRateSerializer),
    create=extend_schema(
        summary="Create a tax rate (Admins)",
        request=s.TaxRateInputSerializer,
        responses={201: s.TaxRateSerializer},
    ),
    partial_update=extend_schema(
        summary="Update a tax rate (Admins)",
        request=s.TaxRateInputSerializer(partial=True),
        responses=s.TaxRateSerializer,
    ),
)
class TaxRateViewSet(ApiViewSet):
    search_fields = ["name"]
    ordering_fields = ["id", "name"]
    location_name = "tax-rate"
    action_permissions = {
        "list": ("catalog.view_taxrate",),
        "retrieve": ("catalog.view_taxrate",),
        "create": ("catalog.add_taxrate",),
        "partial_update": ("catalog.change_taxrate",),
    }
    http_method_names = ["get", "post", "patch", "head"]

    def get_queryset(self):
        return TaxRate.objects.all()

    def list(self, request):
        return self.list_response(self.get_queryset(), s.TaxRateSerializer)

    def retrieve(self, request, pk=None):
        return self.output(s.TaxRateSerializer, self.get_object())

    def create(self, request):
        data = s.TaxRateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        active = values.pop("active", True)
        with transaction.atomic():
            rate = catalog_services.tax_rate_create(**values, actor=request.user)
            if not active:
                rate = catalog_services.tax_rate_deactivate(tax_rate=rate, actor=request.user)
        return self.output(s.TaxRateSerializer, rate, status_code=201)

    def partial_update(self, request, pk=None):
        rate = self.get_object()
        data = s.TaxRateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        active = values.pop("active", None)
        with self.matching(rate):
            if values:
                rate = catalog_services.tax_rate_update(
                    tax_rate=rate, data=values, actor=request.user
                )
            if active is False and rate.active:
                rate = catalog_services.tax_rate_deactivate(tax_rate=rate, actor=request.user)
            elif active is True and not rate.active:
                rate = catalog_services.tax_rate_reactivate(tax_rate=rate, actor=request.user)
        rate.refresh_from_db()
        return self.output(s.TaxRateSerializer, rate)


# --- tickets -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List tickets", responses=s.TicketSerializer(many=True)),
    retrieve=extend_schema(summary="Get a ticket", responses=s.TicketSerializer),
    create=extend_schema(
        summary="Open a ticket",
        request=s.TicketCreateSerializer,
        responses={201: s.TicketSerializer},
    ),
    partial_update=extend_schema(
        summary="Update a ticket (fields, status, assignee)",
        request=s.TicketUpdateSerializer,
        responses=s.TicketSerializer,
    ),
)
class TicketViewSet(ApiViewSet):
    filterset_class = api_filters.TicketFilter
    search_fields = ["subject", "client__name"]
    ordering_fields = ["id", "created_at"]
    location_name = "ticket"
    action_permissions = {
        "list": ("tickets.view_ticket",),
        "retrieve": ("tickets.view_ticket",),
        "create": ("tickets.add_ticket",),
        "partial_update": ("tickets.change_ticket",),
        "messages": ("tickets.view_message",),
        "message_create": ("tickets.add_message",),
        "quote_create": ("quotes.add_quote",),
    }
    http_method_names = ["get", "post", "patch", "head"]

    def get_queryset(self):
        return Ticket.objects.select_related("client")

    def list(self, request):
        return self.list_response(self.get_queryset(), s.TicketSerializer)

    def retrieve(self, request, pk=None):
        return self.output(s.TicketSerializer, self.get_object())

    def create(self, request):
        data = s.TicketCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_services.ticket_open(**data.validated_data, created_by=request.user)
        return self.output(s.TicketSerializer, self._fresh(ticket), status_code=201)

    def partial_update(self, request, pk=None):
        ticket = self.get_object()
        data = s.TicketUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        new_status = values.pop("status", None)
        assign = "assignee" in values
        assignee = values.pop("assignee", None)
        with self.matching(ticket):
            if values:
                ticket_services.ticket_update(ticket=ticket, data=values, actor=request.user)
            if assign:
                ticket_services.ticket_assign(ticket=ticket, assignee=assignee, actor=request.user)
            if new_status is not None and new_status != ticket.status:
                with state_conflicts("status"):
                    ticket_services.ticket_change_status(
                        ticket=ticket, status=new_status, actor=request.user
                    )
        return self.output(s.TicketSerializer, self._fresh(ticket))

    def _fresh(self, ticket):
        return self.get_queryset().get(pk=ticket.pk)

    @extend_schema(
        summary="List a ticket's messages (notes included)",
        responses=s.MessageSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def messages(self, request, pk=None):
        ticket = self.get_object()
        queryset = ticket.messages.select_related("author").order_by("-id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(s.MessageSerializer(page, many=True).data)

    @extend_schema(
        summary="Reply to the client (e-mailed) or add an internal note",
        request=s.MessageCreateSerializer,
        responses={201: s.MessageSerializer},
    )
    @messages.mapping.post
    def message_create(self, request, pk=None):
        ticket = self.get_object()
        data = s.MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["internal_note"]:
            message = ticket_services.ticket_add_note(
                ticket=ticket, author=request.user, body=data.validated_data["body"]
            )
        else:
            with state_conflicts("status"):
                message = ticket_services.ticket_reply(
                    ticket=ticket, author=request.user, body=data.validated_data["body"]
                )
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Create a quote from the ticket (for its client)",
        request=s.TicketQuoteCreateSerializer,
        responses={201: s.QuoteDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="quotes", filter_backends=[])
    def quote_create(self, request, pk=None):
        ticket = self.get_object()
        data = s.TicketQuoteCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["lines"] = line_dicts(values.get("lines", []))
        quote = quote_services.quote_create(**values, ticket=ticket, created_by=request.user)
        view = QuoteViewSet(request=request, format_kwarg=None, action="retrieve")
        return view.output(s.QuoteDetailSerializer, view.fresh(quote), status_code=201)


# --- quotes --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List quotes", responses=s.QuoteSerializer(many=True)),
    retrieve=extend_schema(summary="Get a quote with its lines", responses=s.QuoteDetailSerializer),
    create=extend_schema(
        summary="Create a draft quote with lines",
        request=s.QuoteCreateSerializer,
        responses={201: s.QuoteDetailSerializer},
        examples=[
            OpenApiExample(
                "Two lines: a service and a free line",
                value={
                    "client": 51,
                    "notes": "Collected in person",
                    "lines": [
                        {"service": 1, "quantity": "2"},
                        {"name": "Courier", "rate": "120.00", "tax_rate": "15"},
                    ],
                },
                request_only=True,
            )
        ],
    ),
    partial_update=extend_schema(
        summary="Update a draft quote (409 once sent); `lines` replace every line",
        request=s.QuoteUpdateSerializer,
        responses=s.QuoteDetailSerializer,
    ),
)
class QuoteViewSet(ApiViewSet):
    filterset_class = api_filters.QuoteFilter
    search_fields = ["number", "client__name", "notes"]
    ordering_fields = ["id", "number", "issue_date", "created_at"]
    sync_model = Quote
    location_name = "quote"
    action_permissions = {
        "list": ("quotes.view_quote",),
        "retrieve": ("quotes.view_quote",),
        "create": ("quotes.add_quote",),
        "partial_update": ("quotes.change_quote",),
        "send": ("quotes.change_quote",),
        "accept": ("quotes.change_quote",),
        "reject": ("quotes.change_quote",),
        "revise": ("quotes.add_quote",),
        "invoice": ("invoices.add_invoice",),
    }
    http_method_names = ["get", "post", "patch", "head"]

    def get_queryset(self):
        return quote_selectors.quote_list().select_related("invoice")

    def fresh(self, quote):
        return self.get_queryset().prefetch_related("lines").get(pk=quote.pk)

    def list(self, request):
        return self.list_response(self.get_queryset(), s.QuoteSerializer)

    def retrieve(self, request, pk=None):
        return self.output(s.QuoteDetailSerializer, self.fresh(self.get_object()))

    def create(self, request):
        data = s.QuoteCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["lines"] = line_dicts(values.get("lines", []))
        quote = quote_services.quote_create(**values, created_by=request.user)
        return self.output(s.QuoteDetailSerializer, self.fresh(quote), status_code=201)

    def partial_update(self, request, pk=None):
        quote = self.get_object()
        data = s.QuoteUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        lines = values.pop("lines", None)
        with self.matching(quote), state_conflicts("status"):
            if values:
                quote_services.quote_update(quote=quote, **values)
            if lines is not None:
                for line in list(quote.lines.all()):
                    quote_services.quote_line_remove(line=line)
                for line in line_dicts(lines):
                    quote_services.quote_line_add(quote=quote, **line)
        return self.output(s.QuoteDetailSerializer, self.fresh(quote))

    def _transition(self, service, **kwargs):
        quote = self.get_object()
        with state_conflicts("status"):
            quote = service(quote=quote, **kwargs)
        return self.output(s.QuoteDetailSerializer, self.fresh(quote))

    @extend_schema(
        summary="Send a draft quote to its client",
        request=None,
        responses=s.QuoteDetailSerializer,
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def send(self, request, pk=None):
        return self._transition(quote_services.quote_send, sent_by=request.user)

    @extend_schema(
        summary="Accept a sent quote; with create_invoice it is also converted",
        request=s.QuoteAcceptSerializer,
        responses=s.QuoteAcceptResultSerializer,
        examples=[
            OpenApiExample("Accept and invoice", value={"create_invoice": True}, request_only=True)
        ],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def accept(self, request, pk=None):
        quote = self.get_object()
        data = s.QuoteAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = None
        with transaction.atomic(), state_conflicts("status", "quote"):
            quote = quote_services.quote_accept(quote=quote)
            if data.validated_data["create_invoice"]:
                self._check_can_invoice(request)
                invoice = invoice_services.invoice_create_from_quote(
                    quote=quote, created_by=request.user
                )
        quote = self.fresh(quote)
        context = self.get_serializer_context()
        body = {
            "quote": s.QuoteDetailSerializer(
                quote, context=context | {"sync_states": self.sync_states_for([quote])}
            ).data,
            "invoice": None,
        }
        if invoice is not None:
            invoice = InvoiceViewSet.fresh_invoice(invoice)
            body["invoice"] = s.InvoiceDetailSerializer(
                invoice, context=context | {"sync_states": {}}
            ).data
        return Response(body, status=status.HTTP_200_OK)

    def _check_can_invoice(self, request):
        if not request.user.has_perm("invoices.add_invoice"):
            raise PermissionDenied("Your role does not allow creating invoices.")

    @extend_schema(summary="Reject a sent quote", request=None, responses=s.QuoteDetailSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def reject(self, request, pk=None):
        return self._transition(quote_services.quote_reject)

    @extend_schema(
        summary="Revise a sent quote: a new draft revision supersedes it",
        request=None,
        responses={201: s.QuoteDetailSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def revise(self, request, pk=None):
        quote = self.get_object()
        with state_conflicts("status"):
            revision = quote_services.quote_revise(quote=quote, created_by=request.user)
        return self.output(s.QuoteDetailSerializer, self.fresh(revision), status_code=201)

    @extend_schema(
        summary="Convert an accepted quote into a draft invoice",
        request=s.QuoteInvoiceSerializer,
        responses={201: s.InvoiceDetailSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def invoice(self, request, pk=None):
        quote = self.get_object()
        data = s.QuoteInvoiceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with state_conflicts("quote", "status"):
            invoice = invoice_services.invoice_create_from_quote(
                quote=quote, created_by=request.user, **data.validated_data
            )
        view = InvoiceViewSet(request=request, format_kwarg=None, action="retrieve")
        return view.output(
            s.InvoiceDetailSerializer, InvoiceViewSet.fresh_invoice(invoice), status_code=201
        )


# --- invoices and payments -----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List invoices", responses=s.InvoiceSerializer(many=True)),
    retrieve=extend_schema(
        summary="Get an invoice with its lines", responses=s.InvoiceDetailSerializer
    ),
    create=extend_schema(
        summary="Create a draft invoice directly",
        request=s.InvoiceCreateSerializer,
        responses={201: s.InvoiceDetailSerializer},
    ),
)
class InvoiceViewSet(ApiViewSet):
    filterset_class = api_filters.InvoiceFilter
    search_fields = ["number", "client__name"]
    ordering_fields = ["id", "number", "issue_date", "due_date", "created_at"]
    sync_model = Invoice
    location_name = "invoice"
    action_permissions = {
        "list": ("invoices.view_invoice",),
        "retrieve": ("invoices.view_invoice",),
        "create": ("invoices.add_invoice",),
        "send": ("invoices.change_invoice",),
        "void": ("invoices.void_invoice",),
        "payments": ("invoices.view_payment",),
        "payment_create": ("invoices.add_payment",),
        "mark_paid": ("invoices.add_payment",),
    }
    http_method_names = ["get", "post", "head"]

    def get_queryset(self):
        return invoice_selectors.invoice_list()

    @staticmethod
    def fresh_invoice(invoice):
        return invoice_selectors.invoice_list().prefetch_related("lines").get(pk=invoice.pk)

    def list(self, request):
        return self.list_response(invoice_selectors.invoice_list_summary(), s.InvoiceSerializer)

    def retrieve(self, request, pk=None):
        return self.output(s.InvoiceDetailSerializer, self.fresh_invoice(self.get_object()))

    def create(self, request):
        data = s.InvoiceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        if values.get("assignee") is not None and not request.user.has_perm(
            "invoices.assign_invoice"
        ):
            raise PermissionDenied("Only Admins choose who is credited with an invoice.")
        values["lines"] = line_dicts(values.get("lines", []))
        invoice = invoice_services.invoice_create(**values, created_by=request.user)
        return self.output(s.InvoiceDetailSerializer, self.fresh_invoice(invoice), status_code=201)

    @extend_schema(
        summary="Send a draft invoice to its client",
        request=None,
        responses=s.InvoiceDetailSerializer,
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def send(self, request, pk=None):
        invoice = self.get_object()
        with state_conflicts("status"):
            invoice = invoice_services.invoice_send(invoice=invoice, sent_by=request.user)
        return self.output(s.InvoiceDetailSerializer, self.fresh_invoice(invoice))

    @extend_schema(
        summary="Void an invoice without payments (Admins)",
        request=None,
        responses=s.InvoiceDetailSerializer,
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def void(self, request, pk=None):
        invoice = self.get_object()
        with state_conflicts("status"):
            invoice = invoice_services.invoice_void(invoice=invoice)
        return self.output(s.InvoiceDetailSerializer, self.fresh_invoice(invoice))

    @extend_schema(summary="List an invoice's payments", responses=s.PaymentSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def payments(self, request, pk=None):
        invoice = self.get_object()
        queryset = invoice_selectors.payment_list().filter(invoice=invoice).order_by("-id")
        page = self.paginate_queryset(queryset)
        states = PaymentViewSet.payment_states(page)
        data = s.PaymentSerializer(page, many=True, context={"sync_states": states}).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Record a payment (the amount defaults to the balance)",
        request=s.PaymentCreateSerializer,
        responses={201: s.PaymentSerializer},
        examples=[
            OpenApiExample(
                "A part payment",
                value={"amount": "500.00", "mode": "bank_transfer", "reference": "EFT 1"},
                request_only=True,
            )
        ],
    )
    @payments.mapping.post
    def payment_create(self, request, pk=None):
        invoice = self.get_object()
        data = s.PaymentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = self._pay(invoice, data.validated_data)
        payment = invoice_selectors.payment_list().get(pk=payment.pk)
        return Response(
            s.PaymentSerializer(payment, context={"sync_states": {}}).data,
            status=status.HTTP_201_CREATED,
        )

    def _pay(self, invoice, values):
        with transaction.atomic(), state_conflicts("invoice", "status"):
            invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
            if "amount" not in values:
                if invoice.status not in Invoice.OPEN_STATUSES or invoice.balance <= 0:
                    # The service words the refusal; the balance is only a default.
                    values = {**values, "amount": invoice.balance or "0.01"}
                else:
                    values = {**values, "amount": invoice.balance}
            return invoice_services.payment_record(
                invoice=invoice, recorded_by=self.request.user, **values
            )

    @extend_schema(
        summary="Pay the balance (409 once paid)",
        request=s.MarkPaidSerializer,
        responses=s.MarkPaidResultSerializer,
    )
    @action(detail=True, methods=["post"], url_path="mark-paid", filter_backends=[])
    def mark_paid(self, request, pk=None):
        invoice = self.get_object()
        data = s.MarkPaidSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment = self._pay(invoice, dict(data.validated_data))
        invoice = self.fresh_invoice(invoice)
        payment = invoice_selectors.payment_list().get(pk=payment.pk)
        context = self.get_serializer_context() | {"sync_states": self.sync_states_for([invoice])}
        body = {
            "invoice": s.InvoiceDetailSerializer(invoice, context=context).data,
            "payment": s.PaymentSerializer(payment, context={"sync_states": {}}).data,
        }
        return Response(body)


@extend_schema_view(
    list=extend_schema(summary="List payments", responses=s.PaymentSerializer(many=True)),
    retrieve=extend_schema(summary="Get a payment", responses=s.PaymentSerializer),
)
class PaymentViewSet(ApiViewSet):
    filterset_class = api_filters.PaymentFilter
    search_fields = ["reference", "invoice__number"]
    ordering_fields = ["id", "date", "created_at"]
    sync_model = Payment
    action_permissions = {
        "list": ("invoices.view_payment",),
        "retrieve": ("invoices.view_payment",),
    }
    http_method_names = ["get", "head"]

    def get_queryset(self):
        return invoice_selectors.payment_list()

    @staticmethod
    def payment_states(payments) -> dict:
        from apps.sync.selectors import record_sync_states

        return record_sync_states(model=Payment, object_ids=[p.pk for p in payments])

    def list(self, request):
        return self.list_response(self.get_queryset(), s.PaymentSerializer)

    def retrieve(self, request, pk=None):
        return self.output(s.PaymentSerializer, self.get_object())
