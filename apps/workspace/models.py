"""The business's own details printed on every PDF: one row, edited by an Admin."""

from django.db import models

from apps.core.models import TimeStampedModel


class BusinessProfile(TimeStampedModel):
    """Who the quotes and invoices come from. There is one; business_profile_get makes it."""

    name = models.CharField(max_length=200, default="Syncdesk Document Services")
    address = models.TextField(blank=True)
    vat_number = models.CharField("VAT number", max_length=50, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    bank_details = models.TextField(
        blank=True, help_text="Printed under the totals: bank, account number, branch code."
    )
    # Stored in the row (a small PNG, JPEG or SVG) so a PDF never fetches a file or a URL.
    logo = models.BinaryField(blank=True, default=b"", editable=True)
    logo_content_type = models.CharField(max_length=50, blank=True)

    class Meta:
        verbose_name = "business profile"
        verbose_name_plural = "business profile"

    def __str__(self) -> str:
        return self.name
