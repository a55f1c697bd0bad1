"""Xero's tables in the sandbox: apps and tokens (identity), tenants and their accounting records.

Every accounting record belongs to one `XeroTenant`, so that tenants never see each other's data.
Line items, addresses and phones are kept as JSON in the shape Xero answers with; the columns that
`where`, `order` and `If-Modified-Since` filter on are real columns.
"""

import uuid

from django.db import models


class XeroApp(models.Model):
    """An OAuth 2.0 client registered in the (emulated) Xero developer portal."""

    name = models.CharField(max_length=100)
    client_id = models.CharField(max_length=64, unique=True)
    client_secret = models.CharField(max_length=128, blank=True)  # empty: a PKCE-only public app
    redirect_uris = models.JSONField(default=list)
    webhook_url = models.URLField(max_length=2000, blank=True)
    webhook_key = models.CharField(max_length=128, blank=True)
    # Last sequence number given to a webhook event of this app (Xero numbers them per app).
    webhook_sequence = models.PositiveIntegerField(default=0)
    app_minute_limit = models.PositiveIntegerField(default=10_000)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class XeroTenant(models.Model):
    """One organisation: what `/connections` calls a tenant and `/Organisation` describes."""

    tenant_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=255)
    legal_name = models.CharField(max_length=255, blank=True)
    short_code = models.CharField(max_length=20, blank=True)
    base_currency = models.CharField(max_length=3, default="ZAR")
    country_code = models.CharField(max_length=2, default="ZA")
    timezone = models.CharField(max_length=60, default="SOUTHAFRICASTANDARDTIME")
    version = models.CharField(max_length=20, default="GLOBAL")
    organisation_class = models.CharField(max_length=20, default="DEMO")
    # Line items without a TaxType get this one (on NoTax documents: NONE).
    default_sales_tax_type = models.CharField(max_length=50, default="OUTPUT")
    # Per-tenant limits (Xero: 60 per minute, 5,000 per day, 5 at once; Starter tier 1,000 a day).
    minute_limit = models.PositiveIntegerField(default=60)
    day_limit = models.PositiveIntegerField(default=5_000)
    concurrent_limit = models.PositiveIntegerField(default=5)
    next_invoice_number = models.PositiveIntegerField(default=1)
    next_quote_number = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant_id})"


class XeroGrant(models.Model):
    """One user's consent to one app: the scopes granted and the tenants connected with it."""

    app = models.ForeignKey(XeroApp, on_delete=models.CASCADE, related_name="grants")
    user_id = models.UUIDField(default=uuid.uuid4)
    scope = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"grant {self.pk} of {self.app.client_id}"

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())


class XeroConnection(models.Model):
    """A tenant connected to an app through a grant (`GET /connections` lists these)."""

    connection_id = models.UUIDField(default=uuid.uuid4, unique=True)
    grant = models.ForeignKey(XeroGrant, on_delete=models.CASCADE, related_name="connections")
    tenant = models.ForeignKey(XeroTenant, on_delete=models.CASCADE, related_name="connections")
    auth_event_id = models.UUIDField(default=uuid.uuid4)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["grant", "tenant"], name="xero_connection_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tenant.name} via grant {self.grant_id}"


class XeroAuthorizationCode(models.Model):
    """A code handed to the redirect URI after consent; single use, five minutes."""

    code_hash = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(XeroGrant, on_delete=models.CASCADE, related_name="codes")
    redirect_uri = models.CharField(max_length=2000)
    code_challenge = models.CharField(max_length=128, blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for grant {self.grant_id}"


class XeroRefreshToken(models.Model):
    """A refresh token. It rotates on use; the previous one keeps working for a grace period."""

    token_hash = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(XeroGrant, on_delete=models.CASCADE, related_name="refresh_tokens")
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()  # 60 days unused
    rotated_at = models.DateTimeField(null=True, blank=True)
    grace_until = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refresh token {self.pk} of grant {self.grant_id}"


class XeroAccessToken(models.Model):
    """A bearer token (JWT-shaped); looked up by its hash."""

    token_hash = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(XeroGrant, on_delete=models.CASCADE, related_name="access_tokens")
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"access token {self.pk} of grant {self.grant_id}"


class XeroAccount(models.Model):
    """A ledger account of a tenant: line items post to it, payments come out of it."""

    account_id = models.UUIDField(default=uuid.uuid4, unique=True)
    tenant = models.ForeignKey(XeroTenant, on_delete=models.CASCADE, related_name="accounts")
    code = models.CharField(max_length=10)
    name = models.CharField(max_length=150)
    type = models.CharField(max_length=20)  # BANK, REVENUE, ...
    enable_payments = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="xero_account_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class XeroTaxRate(models.Model):
    """A tax type of a tenant (`TaxType` on line items) with its rate in percent."""

    tenant = models.ForeignKey(XeroTenant, on_delete=models.CASCADE, related_name="tax_rates")
    tax_type = models.CharField(max_length=50)
    name = models.CharField(max_length=100)
    rate = models.DecimalField(max_digits=7, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "tax_type"], name="xero_tax_type_unique")
        ]

    def __str__(self) -> str:
        return f"{self.tax_type} {self.rate}%"


class XeroRecord(models.Model):
    """What every accounting record has: its tenant and Xero's `UpdatedDateUTC`."""

    tenant = models.ForeignKey(XeroTenant, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        abstract = True


class XeroContact(XeroRecord):
    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        ARCHIVED = "ARCHIVED"
        GDPRREQUEST = "GDPRREQUEST"

    contact_id = models.UUIDField(default=uuid.uuid4, unique=True)
    contact_number = models.CharField(max_length=50, blank=True)
    account_number = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    name = models.CharField(max_length=255)
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    company_number = models.CharField(max_length=50, blank=True)
    email_address = models.CharField(max_length=255, blank=True)
    tax_number = models.CharField(max_length=50, blank=True)
    is_customer = models.BooleanField(default=False)
    is_supplier = models.BooleanField(default=False)
    default_currency = models.CharField(max_length=3, blank=True)
    addresses = models.JSONField(default=list)
    phones = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["tenant", "name"])]

    def __str__(self) -> str:
        return self.name


class XeroItem(XeroRecord):
    item_id = models.UUIDField(default=uuid.uuid4, unique=True)
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=50, blank=True)
    description = models.CharField(max_length=4000, blank=True)
    purchase_description = models.CharField(max_length=4000, blank=True)
    is_sold = models.BooleanField(default=True)
    is_purchased = models.BooleanField(default=True)
    sales_details = models.JSONField(default=dict)
    purchase_details = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="xero_item_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class XeroQuote(XeroRecord):
    class Status(models.TextChoices):
        DRAFT = "DRAFT"
        SENT = "SENT"
        DECLINED = "DECLINED"
        ACCEPTED = "ACCEPTED"
        INVOICED = "INVOICED"
        DELETED = "DELETED"

    quote_id = models.UUIDField(default=uuid.uuid4, unique=True)
    quote_number = models.CharField(max_length=255)
    reference = models.CharField(max_length=4000, blank=True)
    terms = models.CharField(max_length=4000, blank=True)
    title = models.CharField(max_length=100, blank=True)
    summary = models.CharField(max_length=3000, blank=True)
    contact = models.ForeignKey(XeroContact, on_delete=models.RESTRICT, related_name="quotes")
    line_items = models.JSONField(default=list)
    date = models.DateField()
    expiry_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    currency_code = models.CharField(max_length=3)
    line_amount_types = models.CharField(max_length=10, default="EXCLUSIVE")
    sub_total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    total_tax = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    def __str__(self) -> str:
        return self.quote_number


class XeroInvoice(XeroRecord):
    class Status(models.TextChoices):
        DRAFT = "DRAFT"
        SUBMITTED = "SUBMITTED"
        DELETED = "DELETED"
        AUTHORISED = "AUTHORISED"
        PAID = "PAID"
        VOIDED = "VOIDED"

    invoice_id = models.UUIDField(default=uuid.uuid4, unique=True)
    type = models.CharField(max_length=12, default="ACCREC")
    invoice_number = models.CharField(max_length=255)
    reference = models.CharField(max_length=4000, blank=True)
    contact = models.ForeignKey(XeroContact, on_delete=models.RESTRICT, related_name="invoices")
    line_items = models.JSONField(default=list)
    date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    line_amount_types = models.CharField(max_length=10, default="Exclusive")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    currency_code = models.CharField(max_length=3)
    sent_to_contact = models.BooleanField(default=False)
    sub_total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    total_tax = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    amount_paid = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    fully_paid_on = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "reference"])]

    def __str__(self) -> str:
        return self.invoice_number

    @property
    def amount_due(self):
        return self.total - self.amount_paid


class XeroPayment(XeroRecord):
    class Status(models.TextChoices):
        AUTHORISED = "AUTHORISED"
        DELETED = "DELETED"

    payment_id = models.UUIDField(default=uuid.uuid4, unique=True)
    invoice = models.ForeignKey(XeroInvoice, on_delete=models.RESTRICT, related_name="payments")
    account = models.ForeignKey(XeroAccount, on_delete=models.RESTRICT, related_name="payments")
    date = models.DateField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    reference = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AUTHORISED)

    def __str__(self) -> str:
        return f"{self.amount} on {self.invoice.invoice_number}"


class XeroIdempotentAnswer(models.Model):
    """The answer given to an `Idempotency-Key`, replayed for the same key for six minutes."""

    tenant = models.ForeignKey(XeroTenant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    request_fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)  # null while the first is running
    body = models.TextField(blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="xero_idempotency_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} -> {self.status_code}"
