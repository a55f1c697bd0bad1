"""Shapes of the API: output serializers over the models, input serializers that check shape only.

Invariants stay in the services: an input serializer checks types, ranges and that referenced
rows exist, then the view hands its data to a service, which refuses what the domain forbids.
Money is a decimal string; every document carries its id and its number.
"""

from decimal import Decimal

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from apps.catalog.models import Service, TaxRate
from apps.clients.models import Client
from apps.invoices.models import Invoice, Payment
from apps.quotes.models import DiscountType, Quote
from apps.tickets.models import Message, Ticket

User = get_user_model()

MONEY = {"max_digits": 14, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 3, "min_value": Decimal("0.001")}
RATE = {"max_digits": 14, "decimal_places": 3, "min_value": Decimal("0")}
TAX = {"max_digits": 6, "decimal_places": 3, "min_value": Decimal("0"), "max_value": Decimal("100")}


# --- sync state ----------------------------------------------------------------------------------


class SyncStateSerializer(serializers.Serializer):
    connection_id = serializers.IntegerField()
    connection = serializers.CharField()
    provider = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    remote_id = serializers.CharField(allow_blank=True)
    remote_number = serializers.CharField(allow_blank=True, allow_null=True)
    last_error = serializers.CharField(allow_blank=True, allow_null=True)
    synced_at = serializers.DateTimeField(allow_null=True)


class SyncStateField(serializers.Field):
    """The record's sync state per connection, read from the view's one query per page."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, instance):
        states = self.context.get("sync_states") or {}
        synced_at = serializers.DateTimeField()
        return [
            {
                **state,
                "synced_at": synced_at.to_representation(state["synced_at"])
                if state.get("synced_at")
                else None,
            }
            for state in states.get(instance.pk, [])
        ]


class FastRepresentationMixin:
    """The same output as DRF's to_representation, from a plan made once per serializer: each
    field's getter and converter. DRF's generic path (field lookups, source walking, an ordered
    dict per row) cost two thirds of a 100-row page; tests compare both outputs field by field."""

    def to_representation(self, instance):
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = self.__dict__["_plan"] = [self._field_plan(f) for f in self._readable_fields]
        return {name: produce(instance) for name, produce in plan}

    def _field_plan(self, field):
        from operator import attrgetter

        name = field.field_name
        if isinstance(field, SyncStateField | serializers.SerializerMethodField) or not getattr(
            field, "source_attrs", None
        ):
            return name, lambda obj, f=field: f.to_representation(f.get_attribute(obj))
        if isinstance(field, serializers.PrimaryKeyRelatedField) and len(field.source_attrs) == 1:
            return name, attrgetter(f"{field.source_attrs[0]}_id")
        get = attrgetter(".".join(field.source_attrs))
        if isinstance(
            field,
            serializers.CharField | serializers.IntegerField | serializers.BooleanField,
        ) and not isinstance(field, serializers.EmailField):
            return name, get
        if isinstance(field, serializers.ChoiceField):
            return name, get
        if isinstance(field, serializers.DateField) and not isinstance(
            field, serializers.DateTimeField
        ):
            return name, lambda obj: None if (v := get(obj)) is None else v.isoformat()
        output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if (
            isinstance(field, serializers.DateTimeField)
            and isinstance(output_format, str)
            and output_format.lower() == ISO_8601
        ):
            zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()

            def iso(obj, field=field):
                value = get(obj)
                if value is None:
                    return None
                if zone is None or value.tzinfo is None:
                    return field.to_representation(value)  # DRF's own handling of naive times
                text = value.astimezone(zone).isoformat()
                return text[:-6] + "Z" if text.endswith("+00:00") else text

            return name, iso
        if (
            isinstance(field, serializers.DecimalField)
            and getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
            and not field.normalize_output
            and not field.localize
        ):
            # Stored amounts already have the field's places, so no rounding happens here.
            places = f".{field.decimal_places}f"
            return name, lambda obj: None if (v := get(obj)) is None else format(v, places)
        return (
            name,
            lambda obj, f=field: None if (v := get(obj)) is None else f.to_representation(v),
        )


extend_schema_field(SyncStateSerializer(many=True))(SyncStateField)


# --- people and the catalogue --------------------------------------------------------------------


class ClientSerializer(serializers.ModelSerializer):
    # Blank is allowed (a walk-in client), so not an "email"-format string.
    email = serializers.CharField(read_only=True)
    sync = SyncStateField()

    class Meta:
        model = Client
        fields = [
            "id",
            "name",
            "email",
            "phone",
            "mobile",
            "company",
            "whatsapp_id",
            "billing_address",
            "tax_number",
            "notes",
            "active",
            "created_at",
            "updated_at",
            "sync",
        ]
        read_only_fields = fields


class ClientInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    mobile = serializers.CharField(max_length=50, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    whatsapp_id = serializers.CharField(max_length=50, required=False, allow_blank=True)
    billing_address = serializers.CharField(required=False, allow_blank=True)
    tax_number = serializers.CharField(max_length=50, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class TaxRateSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaxRate
        fields = ["id", "name", "rate", "active", "created_at", "updated_at"]
        read_only_fields = fields


class TaxRateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    rate = serializers.DecimalField(**TAX)
    active = serializers.BooleanField(required=False)


class ServiceSerializer(serializers.ModelSerializer):
    sync = SyncStateField()

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "description",
            "rate",
            "unit",
            "sku",
            "category",
            "tax_rate",
            "active",
            "created_at",
            "updated_at",
            "sync",
        ]
        read_only_fields = fields


class ServiceInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    rate = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
    unit = serializers.CharField(max_length=30, required=False)
    sku = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    category = serializers.CharField(max_length=100, required=False)
    tax_rate = serializers.PrimaryKeyRelatedField(
        queryset=TaxRate.objects.all(), required=False, allow_null=True
    )
    active = serializers.BooleanField(required=False)


# --- tickets -------------------------------------------------------------------------------------


class TicketSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)

    class Meta:
        model = Ticket
        fields = [
            "id",
            "subject",
            "client",
            "client_name",
            "status",
            "priority",
            "channel",
            "assignee",
            "due",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TicketCreateSerializer(serializers.Serializer):
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all())
    subject = serializers.CharField(max_length=200)
    channel = serializers.ChoiceField(Ticket.Channel.choices, required=False)
    priority = serializers.ChoiceField(Ticket.Priority.choices, required=False)
    body = serializers.CharField(required=False, allow_blank=True)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )
    due = serializers.DateTimeField(required=False, allow_null=True)


class TicketUpdateSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=200, required=False)
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all(), required=False)
    priority = serializers.ChoiceField(Ticket.Priority.choices, required=False)
    channel = serializers.ChoiceField(Ticket.Channel.choices, required=False)
    due = serializers.DateTimeField(required=False, allow_null=True)
    status = serializers.ChoiceField(Ticket.Status.choices, required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = [
            "id",
            "ticket",
            "author",
            "direction",
            "body",
            "is_internal_note",
            "created_at",
        ]
        read_only_fields = fields


class MessageCreateSerializer(serializers.Serializer):
    body = serializers.CharField()
    internal_note = serializers.BooleanField(
        default=False, help_text="An internal note is kept for staff and never sent."
    )


# --- documents -----------------------------------------------------------------------------------


class LineSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    service = serializers.IntegerField(source="service_id", read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, read_only=True)
    rate = serializers.DecimalField(max_digits=14, decimal_places=3, read_only=True)
    tax_rate = serializers.DecimalField(max_digits=6, decimal_places=3, read_only=True)
    position = serializers.IntegerField(read_only=True)
    amount = serializers.DecimalField(**MONEY, read_only=True)
    discount_amount = serializers.DecimalField(**MONEY, read_only=True)
    tax_amount = serializers.DecimalField(**MONEY, read_only=True)


class LineInputSerializer(serializers.Serializer):
    """One line: a service (its name, description, rate and tax are copied unless given) or a
    name and a rate."""

    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.all(), required=False, allow_null=True
    )
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    quantity = serializers.DecimalField(**QUANTITY, required=False)
    rate = serializers.DecimalField(**RATE, required=False)
    tax_rate = serializers.DecimalField(**TAX, required=False)

    def validate(self, attrs):
        service = attrs.get("service")
        if service is None:
            missing = {
                field: "Required when the line names no service."
                for field in ("name", "rate")
                if attrs.get(field) in (None, "")
            }
            if missing:
                raise serializers.ValidationError(missing)
        elif not service.active:
            raise serializers.ValidationError({"service": f"The service '{service}' is inactive."})
        return attrs


class DocumentHeaderSerializer(serializers.Serializer):
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    discount_type = serializers.ChoiceField(DiscountType.choices, required=False)
    discount_value = serializers.DecimalField(**RATE, required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    terms = serializers.CharField(required=False, allow_blank=True)
    lines = LineInputSerializer(many=True, required=False)


class DocumentSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)
    sync = SyncStateField()


class QuoteSerializer(FastRepresentationMixin, DocumentSerializer):
    invoice = serializers.SerializerMethodField()

    class Meta:
        model = Quote
        fields = [
            "id",
            "number",
            "client",
            "client_name",
            "ticket",
            "status",
            "issue_date",
            "valid_until",
            "currency",
            "discount_type",
            "discount_value",
            "notes",
            "terms",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "revision",
            "revision_of",
            "invoice",
            "sent_at",
            "created_by",
            "created_at",
            "updated_at",
            "sync",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_invoice(self, quote) -> int | None:
        invoice = getattr(quote, "invoice", None)
        return invoice.pk if invoice is not None else None


class QuoteDetailSerializer(QuoteSerializer):
    lines = LineSerializer(many=True, read_only=True)

    class Meta(QuoteSerializer.Meta):
        fields = [*QuoteSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class QuoteCreateSerializer(DocumentHeaderSerializer):
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all(), required=False)
    ticket = serializers.PrimaryKeyRelatedField(queryset=Ticket.objects.all(), required=False)
    issue_date = serializers.DateField(required=False)
    valid_until = serializers.DateField(required=False)

    def validate(self, attrs):
        if "client" not in attrs and "ticket" not in attrs:
            raise serializers.ValidationError({"client": "A quote needs a client (or a ticket)."})
        return attrs


class TicketQuoteCreateSerializer(DocumentHeaderSerializer):
    issue_date = serializers.DateField(required=False)
    valid_until = serializers.DateField(required=False)


class QuoteUpdateSerializer(DocumentHeaderSerializer):
    """A draft's header; `lines`, when given, replace every line."""

    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all(), required=False)
    issue_date = serializers.DateField(required=False)
    valid_until = serializers.DateField(required=False, allow_null=True)


class QuoteAcceptSerializer(serializers.Serializer):
    create_invoice = serializers.BooleanField(
        default=False, help_text="Also convert the accepted quote into a draft invoice."
    )


class QuoteInvoiceSerializer(serializers.Serializer):
    due_date = serializers.DateField(required=False)


class InvoiceSerializer(FastRepresentationMixin, DocumentSerializer):
    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "client",
            "client_name",
            "quote",
            "status",
            "issue_date",
            "due_date",
            "currency",
            "discount_type",
            "discount_value",
            "notes",
            "terms",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "amount_paid",
            "balance",
            "assignee",
            "sent_at",
            "paid_at",
            "created_by",
            "created_at",
            "updated_at",
            "sync",
        ]
        read_only_fields = fields


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = LineSerializer(many=True, read_only=True)

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class QuoteAcceptResultSerializer(serializers.Serializer):
    quote = QuoteDetailSerializer()
    invoice = InvoiceDetailSerializer(allow_null=True)


class InvoiceCreateSerializer(DocumentHeaderSerializer):
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all())
    issue_date = serializers.DateField(required=False)
    due_date = serializers.DateField(required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="Who is credited with the invoice (Admins only).",
    )


class PaymentSerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    sync = SyncStateField()

    class Meta:
        model = Payment
        fields = [
            "id",
            "invoice",
            "invoice_number",
            "amount",
            "date",
            "mode",
            "reference",
            "recorded_by",
            "created_at",
            "sync",
        ]
        read_only_fields = fields


class PaymentCreateSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        **MONEY,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Defaults to the invoice's balance.",
    )
    date = serializers.DateField(required=False)
    mode = serializers.ChoiceField(Payment.Mode.choices, required=False)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)


class MarkPaidSerializer(serializers.Serializer):
    date = serializers.DateField(required=False)
    mode = serializers.ChoiceField(Payment.Mode.choices, required=False)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True)


class MarkPaidResultSerializer(serializers.Serializer):
    invoice = InvoiceDetailSerializer()
    payment = PaymentSerializer()


class ProblemFieldSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True, help_text="The field, as a path: `lines[2].quantity`."
    )
    message = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(allow_null=True)
    errors = ProblemFieldSerializer(many=True)
