"""The printable HTML page of a quote (login and the view permission required)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import render

from apps.quotes.models import Quote
from apps.quotes.selectors import quote_get_for_print


@login_required
@permission_required("quotes.view_quote", raise_exception=True)
def quote_print(request, pk: int):
    try:
        quote = quote_get_for_print(quote_id=pk)
    except Quote.DoesNotExist:
        raise Http404("No such quote.") from None
    return render(request, "quotes/print.html", {"quote": quote, "document": quote})
