"""The printable HTML page of an invoice (login and the view permission required)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import render

from apps.invoices.models import Invoice
from apps.invoices.selectors import invoice_get_for_print


@login_required
@permission_required("invoices.view_invoice", raise_exception=True)
def invoice_print(request, pk: int):
    try:
        invoice = invoice_get_for_print(invoice_id=pk)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None
    return render(request, "invoices/print.html", {"invoice": invoice, "document": invoice})
