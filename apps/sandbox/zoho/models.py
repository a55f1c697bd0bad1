"""Zoho's side of the sandbox: OAuth clients and tokens, Books and CRM records per organisation.

Every record belongs to one `ZohoOrganization`; ids are Zoho-like strings of digits. Money is
Decimal. Books line items are kept as JSON on their document (as Zoho returns them).
"""

import secrets

from django.db import models

from apps.core.models import TimeStampedModel


def zoho_id() -> str:
    """An 18-digit id like Zoho's (`460000000026049`-style long numbers, as strings)."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


def zoho_token() -> str:
    """`1000.<hex>.<hex>`: the shape of Zoho's access and refresh tokens."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


class ZohoOrganization(TimeStampedModel):
    organization_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    name = models.CharField(max_length=200)
    currency_code = models.CharField(max_length=3, default="ZAR")
    time_zone = models.CharField(max_length=50, default="Africa/Johannesburg")
    # Books limits; the daily quota is per plan (1,000 Free ... 10,000) and can be raised.
    books_minute_limit = models.PositiveIntegerField(default=100)
    books_daily_quota = models.PositiveIntegerField(default=10000)
    # The next automatic number of each Books series, taken with F() + 1 so that concurrent
    # creates never share a number and deleted numbers are not handed out again.
    next_estimate_number = models.PositiveIntegerField(default=1)
    next_invoice_number = models.PositiveIntegerField(default=1)
    next_payment_number = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.name} ({self.organization_id})"


class ZohoClient(TimeStampedModel):
    """A registered OAuth client (Zoho API console entry)."""

    client_id = models.CharField(max_length=100, unique=True)
    client_secret = models.CharField(max_length=200)
    name = models.CharField(max_length=100, default="Syncdesk")
    # Space-separated redirect URIs, matched exactly; empty allows none.
    redirect_uris = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.client_id

    def allows_redirect(self, uri: str) -> bool:
        return bool(uri) and uri in self.redirect_uris.split()


class ZohoGrant(TimeStampedModel):
    """An authorisation code handed to the redirect URI; used once, within minutes."""

    code = models.CharField(max_length=200, unique=True, default=zoho_token)
    client = models.ForeignKey(ZohoClient, on_delete=models.CASCADE)
    organization = models.ForeignKey(ZohoOrganization, on_delete=models.CASCADE)
    redirect_uri = models.CharField(max_length=2000)
    scope = models.TextField(blank=True)
    access_type = models.CharField(max_length=10, default="offline")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"grant {self.code[:12]}..."


class ZohoRefreshToken(TimeStampedModel):
    token = models.CharField(max_length=200, unique=True, default=zoho_token)
    client = models.ForeignKey(ZohoClient, on_delete=models.CASCADE)
    organization = models.ForeignKey(ZohoOrganization, on_delete=models.CASCADE)
    scope = models.TextField(blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refresh {self.token[:12]}..."


class ZohoAccessToken(TimeStampedModel):
    token = models.CharField(max_length=200, unique=True, default=zoho_token)
    client = models.ForeignKey(ZohoClient, on_delete=models.CASCADE)
    organization = models.ForeignKey(ZohoOrganization, on_delete=models.CASCADE)
    refresh_token = models.ForeignKey(
        ZohoRefreshToken, null=True, blank=True, on_delete=models.CASCADE
    )
    scope = models.TextField(blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"access {self.token[:12]}..."


class BooksRecord(TimeStampedModel):
    """Columns every Books document shares: its organisation and Zoho's own timestamps."""

    organization = models.ForeignKey(ZohoOrganization, on_delete=models.CASCADE)
    created_time = models.DateTimeField()
    last_modified_time = models.DateTimeField(db_index=True)

    class Meta:
        abstract = True


class BooksContact(BooksRecord):
    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    contact_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    contact_name = models.CharField(max_length=200)
    company_name = models.CharField(max_length=200, blank=True)
    contact_type = models.CharField(max_length=10, default="customer")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    mobile = models.CharField(max_length=50, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    website = models.CharField(max_length=200, blank=True)
    currency_code = models.CharField(max_length=3, blank=True)
    payment_terms = models.IntegerField(default=0)
    notes = models.TextField(blank=True)
    billing_address = models.JSONField(default=dict)
    shipping_address = models.JSONField(default=dict)
    source = models.CharField(max_length=20, default="api")
    is_linked_with_zohocrm = models.BooleanField(default=False)
    outstanding_receivable_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["organization", "contact_name", "id"])]

    def __str__(self) -> str:
        return self.contact_name


class BooksTax(TimeStampedModel):
    """A tax of the organisation (`GET /settings/taxes`): what a line's `tax_id` names."""

    organization = models.ForeignKey(ZohoOrganization, on_delete=models.CASCADE)
    tax_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    tax_name = models.CharField(max_length=100)
    tax_percentage = models.DecimalField(max_digits=6, decimal_places=3)
    tax_type = models.CharField(max_length=20, default="tax")
    is_default_tax = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.tax_name} ({self.tax_percentage}%)"


class BooksCurrency(TimeStampedModel):
    """A currency of the organisation (`GET /settings/currencies`); documents name it by id."""

    organization = models.ForeignKey(ZohoOrganization, on_delete=models.CASCADE)
    currency_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    currency_code = models.CharField(max_length=3)
    currency_name = models.CharField(max_length=100, blank=True)
    is_base_currency = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "currency_code"], name="sandbox_books_currency_once"
            )
        ]

    def __str__(self) -> str:
        return self.currency_code


class BooksItem(BooksRecord):
    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    item_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    rate = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    unit = models.CharField(max_length=50, blank=True)
    sku = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    product_type = models.CharField(max_length=20, default="service")
    tax_id = models.CharField(max_length=30, blank=True)
    tax_name = models.CharField(max_length=100, blank=True)
    tax_percentage = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    source = models.CharField(max_length=20, default="api")

    def __str__(self) -> str:
        return self.name


class DiscountType(models.TextChoices):
    ENTITY_LEVEL = "entity_level"
    ITEM_LEVEL = "item_level"


class BooksEstimate(BooksRecord):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SENT = "sent"
        INVOICED = "invoiced"
        ACCEPTED = "accepted"
        DECLINED = "declined"
        EXPIRED = "expired"

    estimate_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    estimate_number = models.CharField(max_length=50)
    reference_number = models.CharField(max_length=100, blank=True)
    customer = models.ForeignKey(BooksContact, on_delete=models.PROTECT)
    date = models.DateField()
    expiry_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    currency_code = models.CharField(max_length=3)
    # The entity discount in money; `discount_input` is what the client sent ("10%" or "25.00").
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    discount_input = models.CharField(max_length=30, blank=True)
    is_discount_before_tax = models.BooleanField(default=True)
    is_inclusive_tax = models.BooleanField(default=False)
    discount_type = models.CharField(
        max_length=20, choices=DiscountType.choices, default=DiscountType.ENTITY_LEVEL
    )
    line_items = models.JSONField(default=list)
    sub_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    notes = models.TextField(blank=True)
    terms = models.TextField(blank=True)
    accepted_date = models.DateField(null=True, blank=True)
    declined_date = models.DateField(null=True, blank=True)
    zcrm_potential_id = models.CharField(max_length=30, blank=True)

    def __str__(self) -> str:
        return self.estimate_number


class BooksInvoice(BooksRecord):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SENT = "sent"
        OVERDUE = "overdue"
        PAID = "paid"
        VOID = "void"
        PARTIALLY_PAID = "partially_paid"

    invoice_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    invoice_number = models.CharField(max_length=50)
    reference_number = models.CharField(max_length=100, blank=True)
    customer = models.ForeignKey(BooksContact, on_delete=models.PROTECT)
    estimate = models.ForeignKey(BooksEstimate, null=True, blank=True, on_delete=models.SET_NULL)
    date = models.DateField()
    due_date = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    currency_code = models.CharField(max_length=3)
    # The entity discount in money; `discount_input` is what the client sent ("10%" or "25.00").
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    discount_input = models.CharField(max_length=30, blank=True)
    is_discount_before_tax = models.BooleanField(default=True)
    is_inclusive_tax = models.BooleanField(default=False)
    discount_type = models.CharField(
        max_length=20, choices=DiscountType.choices, default=DiscountType.ENTITY_LEVEL
    )
    line_items = models.JSONField(default=list)
    sub_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    payment_made = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    balance = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    last_payment_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    terms = models.TextField(blank=True)
    zcrm_potential_id = models.CharField(max_length=30, blank=True)

    def __str__(self) -> str:
        return self.invoice_number


class BooksPayment(BooksRecord):
    payment_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    payment_number = models.CharField(max_length=50)
    customer = models.ForeignKey(BooksContact, on_delete=models.PROTECT)
    payment_mode = models.CharField(max_length=50)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    date = models.DateField()
    reference_number = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    unused_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    def __str__(self) -> str:
        return self.payment_number


class BooksPaymentApplication(models.Model):
    """The part of a payment applied to one invoice."""

    invoice_payment_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    payment = models.ForeignKey(BooksPayment, on_delete=models.CASCADE, related_name="applied")
    invoice = models.ForeignKey(BooksInvoice, on_delete=models.PROTECT, related_name="applied")
    amount_applied = models.DecimalField(max_digits=14, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.amount_applied} to {self.invoice_id}"


class BooksWebhook(TimeStampedModel):
    """A Books webhook (Settings > Automation): where changes of one entity are POSTed."""

    organization = models.ForeignKey(ZohoOrganization, on_delete=models.CASCADE)
    webhook_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    webhook_name = models.CharField(max_length=50)
    entity = models.CharField(max_length=30)  # contact, item, estimate, invoice, customer_payment
    url = models.URLField(max_length=2000)
    method = models.CharField(max_length=10, default="POST")
    headers = models.JSONField(default=list)  # [{"param_name": ..., "param_value": ...}]
    query_parameters = models.JSONField(default=list)
    secret = models.CharField(max_length=50, blank=True)
    events = models.JSONField(default=list)  # e.g. ["created", "updated"]; empty = all

    def __str__(self) -> str:
        return f"{self.entity} -> {self.url}"


class CrmRecord(models.Model):
    """One Zoho CRM record of a module (Contacts, Deals); its fields are kept as Zoho's JSON."""

    class Module(models.TextChoices):
        CONTACTS = "Contacts"
        DEALS = "Deals"

    organization = models.ForeignKey(ZohoOrganization, on_delete=models.CASCADE)
    module = models.CharField(max_length=20, choices=Module.choices)
    record_id = models.CharField(max_length=30, unique=True, default=zoho_id)
    data = models.JSONField(default=dict)  # API-name -> value, without the system fields
    created_time = models.DateTimeField()
    modified_time = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "module", "record_id"])]

    def __str__(self) -> str:
        return f"{self.module} {self.record_id}"


class CrmChannel(TimeStampedModel):
    """A notification channel enabled with `POST /crm/v6/actions/watch`."""

    organization = models.ForeignKey(ZohoOrganization, on_delete=models.CASCADE)
    channel_id = models.CharField(max_length=30)
    events = models.JSONField(default=list)  # ["Contacts.create", "Deals.all", ...]
    token = models.CharField(max_length=50, blank=True)
    notify_url = models.URLField(max_length=2000)
    channel_expiry = models.DateTimeField()
    return_affected_field_values = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "channel_id"], name="sandbox_crm_channel_unique"
            )
        ]

    def __str__(self) -> str:
        return f"channel {self.channel_id}"


__all__ = [
    "BooksContact",
    "BooksEstimate",
    "BooksInvoice",
    "BooksItem",
    "BooksPayment",
    "BooksPaymentApplication",
    "BooksWebhook",
    "CrmChannel",
    "CrmRecord",
    "DiscountType",
    "ZohoAccessToken",
    "ZohoClient",
    "ZohoGrant",
    "ZohoOrganization",
    "ZohoRefreshToken",
]
