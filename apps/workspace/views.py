"""The staff pages: thin views over the domain's services and selectors (and sync's public
reads). An htmx request gets the part of the same template that changed, never a second copy."""

import csv
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from apps.catalog.models import Service
from apps.catalog.selectors import service_list_active
from apps.clients.models import Client
from apps.clients.selectors import client_search
from apps.core.admin_tools import refusal_text
from apps.core.errors import ApplicationError
from apps.invoices import services as invoice_services
from apps.invoices.models import Invoice, Payment
from apps.quotes import services as quote_services
from apps.quotes.models import Quote
from apps.quotes.totals import compute_totals
from apps.tickets import services as ticket_services
from apps.tickets.models import Ticket
from apps.tickets.selectors import ticket_assignee_choices, ticket_get_with_thread
from apps.tickets.services import STATUS_TRANSITIONS
from apps.workspace import charts, selectors
from apps.workspace.formatting import money_text
from apps.workspace.forms import (
    NoteForm,
    PaymentForm,
    QuoteHeaderForm,
    ReplyForm,
    line_row_from_service,
    lines_for_service,
    lines_from_post,
    totals_inputs,
)
from apps.workspace.journal_views import journal_context
from apps.workspace.pdf import PdfUnavailable, document_pdf
from apps.workspace.services import LinesRefused, quote_draft_save

REFUSALS = (ValidationError, ApplicationError)
QUEUE_PAGE_SIZE = 50


def staff_page(*permissions: str):
    """Signed in, and holding every listed permission (403 otherwise, never a redirect loop)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_staff or not request.user.has_perms(permissions):
                raise PermissionDenied("Your role cannot open this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def done(request, text: str, url: str = "", link: str = "") -> None:
    """Confirm an action with a link to what it made (kept safe: format_html escapes)."""
    if url:
        messages.success(request, format_html('{} <a href="{}">{}</a>', text, url, link))
    else:
        messages.success(request, text)


# --- home and search -----------------------------------------------------------------------------


@require_GET
@staff_page()
def home(request):
    summary = selectors.home_summary(user=request.user)
    return render(
        request, "workspace/home.html", {"summary": summary, "today": timezone.localdate()}
    )


@require_GET
@staff_page()
def search(request):
    query = request.GET.get("q", "")
    return render(
        request,
        "workspace/search.html",
        {"query": query, "results": selectors.search(query=query)},
    )


# --- tickets -------------------------------------------------------------------------------------


@require_GET
@staff_page("tickets.view_ticket")
def ticket_list(request):
    filters = {
        "scope": request.GET.get("scope", ""),
        "status": request.GET.get("status", ""),
        "priority": request.GET.get("priority", ""),
    }
    if filters["status"] not in ("", *Ticket.Status.values):
        filters["status"] = ""
    if filters["priority"] not in ("", *Ticket.Priority.values):
        filters["priority"] = ""
    tickets = selectors.ticket_queue(user=request.user, **filters)
    page = Paginator(tickets, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "workspace/ticket_list.html",
        {
            "page": page,
            "filters": filters,
            "statuses": Ticket.Status.choices,
            "priorities": Ticket.Priority.choices,
        },
    )


@staff_page("tickets.view_ticket")
def ticket_detail(request, pk: int):
    try:
        ticket = ticket_get_with_thread(ticket_id=pk)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket.") from None
    reply_form, note_form = ReplyForm(prefix="reply"), NoteForm(prefix="note")
    if request.method == "POST":
        if not request.user.has_perm("tickets.change_ticket"):
            raise PermissionDenied("Your role cannot change tickets.")
        action = request.POST.get("action", "")
        try:
            if action == "reply":
                reply_form = ReplyForm(request.POST, prefix="reply")
                if reply_form.is_valid():
                    ticket_services.ticket_reply(
                        ticket=ticket, author=request.user, body=reply_form.cleaned_data["body"]
                    )
                    done(request, f"Reply sent to {ticket.client.email or ticket.client.name}.")
                    return redirect("workspace:ticket", pk=pk)
            elif action == "note":
                note_form = NoteForm(request.POST, prefix="note")
                if note_form.is_valid():
                    ticket_services.ticket_add_note(
                        ticket=ticket, author=request.user, body=note_form.cleaned_data["body"]
                    )
                    done(request, "Internal note added.")
                    return redirect("workspace:ticket", pk=pk)
            elif action == "assign":
                assignee_id = request.POST.get("assignee", "")
                assignee = (
                    ticket_assignee_choices(current_assignee_id=ticket.assignee_id)
                    .filter(pk=assignee_id)
                    .first()
                    if assignee_id
                    else None
                )
                if assignee_id and assignee is None:
                    raise ValidationError({"assignee": "Choose someone from the list."})
                ticket_services.ticket_assign(ticket=ticket, assignee=assignee, actor=request.user)
                done(request, f"Assigned to {assignee or 'nobody'}.")
                return redirect("workspace:ticket", pk=pk)
            elif action == "status":
                status = request.POST.get("status", "")
                ticket_services.ticket_change_status(
                    ticket=ticket, status=status, actor=request.user
                )
                done(request, f"Ticket is now {Ticket.Status(status).label.lower()}.")
                return redirect("workspace:ticket", pk=pk)
            else:
                raise ValidationError({"action": "Unknown action."})
        except REFUSALS as error:
            messages.error(request, f"Not done: {refusal_text(error)}")
            if action in ("reply", "note"):
                form = reply_form if action == "reply" else note_form
                form.add_error("body", refusal_text(error))
            else:
                return redirect("workspace:ticket", pk=pk)
        ticket = ticket_get_with_thread(ticket_id=pk)
    return render(
        request,
        "workspace/ticket_detail.html",
        {
            "ticket": ticket,
            "reply_form": reply_form,
            "note_form": note_form,
            "assignees": ticket_assignee_choices(current_assignee_id=ticket.assignee_id),
            "next_statuses": [
                (status, Ticket.Status(status).label)
                for status in Ticket.Status.values
                if status in STATUS_TRANSITIONS[ticket.status]
            ],
            "quotes": list(ticket.quotes.order_by("-id")[:10]),
        },
    )


# --- the quote builder ---------------------------------------------------------------------------


def _builder_context(*, quote, form, rows, errors=None, line_errors=None) -> dict:
    """What the builder template needs: the header form, the rows as typed, their errors."""
    services = {
        s.pk: s
        for s in Service.objects.filter(
            pk__in=[int(r["service"]) for r in rows if r.get("service", "").isdigit()]
        )
    }
    for index, row in enumerate(rows):
        service = services.get(int(row["service"])) if row.get("service", "").isdigit() else None
        row["service_label"] = service.name if service else ""
        row["unit"] = service.unit if service else ""
        row["errors"] = (line_errors or {}).get(index, {})
    client = form["client"].value() if form is not None else None
    chosen = Client.objects.filter(pk=client).first() if str(client or "").isdigit() else None
    ticket_id = form["ticket"].value() if form is not None else None
    ticket = Ticket.objects.filter(pk=ticket_id).first() if str(ticket_id or "").isdigit() else None
    totals = _totals(form, rows)
    amounts = {key: figures.amount for key, figures in totals.get("lines", [])}
    for row in rows:
        row["amount"] = amounts.get(row["key"])
    return {
        "quote": quote,
        "form": form,
        "rows": rows,
        "client": chosen,
        "ticket": ticket,
        "errors": errors or [],
        "totals": totals,
    }


def _totals(form, rows) -> dict:
    """Live totals from the one totals function; an unreadable input says what, no figures."""
    inputs, problem = totals_inputs(rows)
    if problem:
        return {"problem": problem}
    data = form.data if form is not None and form.is_bound else {}
    currency = (
        data.get("currency") or (form.initial.get("currency") if form else "") or "ZAR"
    ).upper()
    try:
        totals = compute_totals(
            lines=inputs,
            currency=currency if len(currency) == 3 else "ZAR",
            discount_type=data.get("discount_type") or "amount",
            discount_value=(data.get("discount_value") or "0").strip() or "0",
        )
    except (ValueError, ArithmeticError) as error:
        return {"problem": str(error).partition(": ")[2] or str(error)}
    return {
        "totals": totals,
        "currency": currency,
        "lines": list(zip([row["key"] for row in rows], totals.lines, strict=True)),
    }


def _quote_save(request, quote):
    """Save the builder's form; on a refusal, the same page with every typed value kept."""
    form = QuoteHeaderForm(request.POST)
    rows = lines_from_post(request.POST)
    if not form.is_valid():
        context = _builder_context(quote=quote, form=form, rows=rows, errors=_form_errors(form))
        return render(request, "workspace/quote_builder.html", context, status=400)
    service_ids = [int(r["service"]) for r in rows if r.get("service", "").isdigit()]
    services = {
        s.pk: s for s in Service.objects.select_related("tax_rate").filter(pk__in=service_ids)
    }
    try:
        saved = quote_draft_save(
            quote=quote,
            created_by=request.user,
            header=form.service_arguments(creating=quote is None),
            lines=lines_for_service(rows, services),
        )
    except LinesRefused as refused:
        context = _builder_context(
            quote=quote,
            form=form,
            rows=rows,
            errors=[
                f"Line {index + 1}: {message}"
                for index, fields in sorted(refused.line_errors.items())
                for message in fields.values()
            ],
            line_errors=refused.line_errors,
        )
        return render(request, "workspace/quote_builder.html", context, status=400)
    except REFUSALS as error:
        _add_refusal(form, error)
        context = _builder_context(quote=quote, form=form, rows=rows, errors=_form_errors(form))
        return render(request, "workspace/quote_builder.html", context, status=400)
    if request.POST.get("then") == "send":
        return _quote_run(request, saved, "send")
    done(
        request,
        f"Quote {saved.number} saved.",
        reverse("workspace:quote", args=[saved.pk]),
        "View it",
    )
    return redirect("workspace:quote", pk=saved.pk)


def _add_refusal(form, error) -> None:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, refusal_text(error))


def _form_errors(form) -> list[str]:
    labels = {
        name: (field.label or name.replace("_", " ").capitalize())
        for name, field in form.fields.items()
    }
    return [
        f"{labels.get(name, '')}: {message}" if name != "__all__" else message
        for name, errors in form.errors.items()
        for message in errors
    ]


@staff_page("quotes.view_quote", "quotes.add_quote")
def quote_new(request):
    if request.method == "POST":
        return _quote_save(request, None)
    initial = {"discount_type": "amount", "discount_value": "0"}
    ticket_id = request.GET.get("ticket", "")
    if ticket_id.isdigit():
        ticket = get_object_or_404(Ticket.objects.select_related("client"), pk=ticket_id)
        initial |= {"ticket": ticket.pk, "client": ticket.client_id}
    elif request.GET.get("client", "").isdigit():
        initial["client"] = int(request.GET["client"])
    form = QuoteHeaderForm(initial=initial)
    return render(
        request, "workspace/quote_builder.html", _builder_context(quote=None, form=form, rows=[])
    )


@staff_page("quotes.view_quote")
def quote_detail(request, pk: int):
    try:
        quote = selectors.quote_for_page(quote_id=pk)
    except Quote.DoesNotExist:
        raise Http404("No such quote.") from None
    if request.method == "POST":
        if not request.user.has_perm("quotes.change_quote"):
            raise PermissionDenied("Your role cannot change quotes.")
        if not quote.is_draft:
            messages.error(
                request,
                f"Quote {quote.number} is {quote.get_status_display().lower()}; "
                "revise it to change it.",
            )
            return redirect("workspace:quote", pk=pk)
        return _quote_save(request, quote)
    if quote.is_draft:
        form = QuoteHeaderForm(
            initial={
                "client": quote.client_id,
                "ticket": quote.ticket_id,
                "issue_date": quote.issue_date,
                "valid_until": quote.valid_until,
                "currency": quote.currency,
                "discount_type": quote.discount_type,
                "discount_value": f"{quote.discount_value.normalize():f}",
                "notes": quote.notes,
                "terms": quote.terms,
            }
        )
        rows = [
            {
                "id": str(line.pk),
                "key": f"l{line.pk}",
                "service": str(line.service_id or ""),
                "name": line.name,
                "description": line.description,
                "quantity": f"{line.quantity.normalize():f}",
                "rate": f"{line.rate.normalize():f}",
                "tax_rate": f"{line.tax_rate.normalize():f}",
            }
            for line in quote.lines.all()
        ]
        context = _builder_context(quote=quote, form=form, rows=rows)
        context["sync_states"] = selectors.sync_states_of(quote)
        return render(request, "workspace/quote_builder.html", context)
    return render(
        request,
        "workspace/quote_document.html",
        {
            "quote": quote,
            "sync_states": selectors.sync_states_of(quote),
            **journal_context(request, quote),
        },
    )


QUOTE_ACTIONS = {"send", "accept", "reject", "revise", "convert"}


def _quote_run(request, quote, action: str):
    user = request.user
    try:
        if action == "send":
            quote = quote_services.quote_send(quote=quote, sent_by=user)
            done(
                request,
                f"Quote {quote.number} sent to {quote.client.email}; the books copy follows.",
                reverse("workspace:quote", args=[quote.pk]),
                f"Open {quote.number}",
            )
        elif action == "accept":
            quote = quote_services.quote_accept(quote=quote)
            done(request, f"Quote {quote.number} accepted. Next: convert it to an invoice.")
        elif action == "reject":
            quote = quote_services.quote_reject(quote=quote)
            done(request, f"Quote {quote.number} rejected.")
        elif action == "revise":
            revision = quote_services.quote_revise(quote=quote, created_by=user)
            done(
                request,
                f"Revision {revision.number} made from {quote.number}.",
                reverse("workspace:quote", args=[revision.pk]),
                f"Open {revision.number}",
            )
            return redirect("workspace:quote", pk=revision.pk)
        elif action == "convert":
            if not user.has_perm("invoices.add_invoice"):
                raise PermissionDenied("Your role cannot create invoices.")
            invoice = invoice_services.invoice_create_from_quote(quote=quote, created_by=user)
            done(
                request,
                f"Invoice {invoice.number} created from {quote.number}.",
                reverse("workspace:invoice", args=[invoice.pk]),
                f"Open {invoice.number}",
            )
            return redirect("workspace:invoice", pk=invoice.pk)
    except REFUSALS as error:
        messages.error(request, f"Not done: {refusal_text(error)}")
    return redirect("workspace:quote", pk=quote.pk)


@require_POST
@staff_page("quotes.change_quote")
def quote_action(request, pk: int, action: str):
    if action not in QUOTE_ACTIONS:
        raise Http404("No such action.")
    quote = get_object_or_404(Quote, pk=pk)
    return _quote_run(request, quote, action)


@require_POST
@staff_page("quotes.view_quote")
def quote_totals(request):
    """The builder's totals, recomputed by the one totals function from what is typed now."""
    form = QuoteHeaderForm(request.POST)
    rows = lines_from_post(request.POST)
    return render(
        request, "workspace/_quote_totals.html", {"totals": _totals(form, rows), "oob": True}
    )


@require_GET
@staff_page("quotes.view_quote")
def service_search(request):
    query = request.GET.get("service_q", "").strip()
    services = []
    if query:
        services = list(
            service_list_active()
            .select_related("tax_rate")
            .filter(name__icontains=query)
            .order_by("name")[:8]
        )
    return render(
        request, "workspace/_service_results.html", {"services": services, "query": query}
    )


@require_POST
@staff_page("quotes.view_quote")
def quote_lines(request):
    """The lines and totals again, after adding a service's line (rate, unit and tax from the
    catalogue) or removing one: the rows as typed come with the request, nothing is saved."""
    form = QuoteHeaderForm(request.POST)
    rows = lines_from_post(request.POST)
    remove_key = request.POST.get("remove_key", "")
    rows = [row for row in rows if row["key"] != remove_key]
    add_service = request.POST.get("add_service", "")
    if add_service:
        service = get_object_or_404(
            service_list_active().select_related("tax_rate"), pk=add_service
        )
        rows.append(line_row_from_service(service))
    context = _builder_context(quote=None, form=form, rows=rows)
    context["focus_search"] = bool(add_service)
    return render(request, "workspace/_quote_lines.html", context)


@require_GET
@staff_page("clients.view_client")
def client_results(request):
    query = request.GET.get("client_q", "")
    return render(
        request,
        "workspace/_client_results.html",
        {"clients": client_search(query=query, limit=8), "query": query},
    )


@require_GET
@staff_page("clients.view_client")
def client_pick(request):
    """The client field with the chosen client, or (no client given) the search again."""
    client = None
    if request.GET.get("client"):
        client = get_object_or_404(Client, pk=request.GET["client"], active=True)
    return render(request, "workspace/_client_field.html", {"client": client})


# --- invoices ------------------------------------------------------------------------------------


@staff_page("invoices.view_invoice")
def invoice_detail(request, pk: int):
    try:
        invoice = selectors.invoice_for_page(invoice_id=pk)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None
    payment_form = PaymentForm(
        initial={
            "amount": invoice.balance,
            "date": timezone.localdate(),
            "mode": Payment.Mode.BANK_TRANSFER,
        }
    )
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "payment":
                if not request.user.has_perm("invoices.add_payment"):
                    raise PermissionDenied("Your role cannot record payments.")
                payment_form = PaymentForm(request.POST)
                if payment_form.is_valid():
                    payment = invoice_services.payment_record(
                        invoice=invoice, recorded_by=request.user, **payment_form.cleaned_data
                    )
                    done(
                        request,
                        f"Payment of {money_text(payment.amount, invoice.currency)} "
                        f"recorded on {invoice.number}.",
                        f"{reverse('workspace:invoice', args=[pk])}#payments",
                        "See the payments",
                    )
                    return redirect("workspace:invoice", pk=pk)
                status = 400
            elif action == "send":
                if not request.user.has_perm("invoices.change_invoice"):
                    raise PermissionDenied("Your role cannot send invoices.")
                invoice_services.invoice_send(invoice=invoice, sent_by=request.user)
                done(request, f"Invoice {invoice.number} sent to {invoice.client.email}.")
                return redirect("workspace:invoice", pk=pk)
            elif action == "void":
                if not request.user.has_perm("invoices.void_invoice"):
                    raise PermissionDenied("Only Admins can void an invoice.")
                invoice_services.invoice_void(invoice=invoice)
                done(request, f"Invoice {invoice.number} is void.")
                return redirect("workspace:invoice", pk=pk)
            else:
                raise ValidationError({"action": "Unknown action."})
        except REFUSALS as error:
            status = 400
            if action == "payment":
                _add_refusal(payment_form, error)
            else:
                messages.error(request, f"Not done: {refusal_text(error)}")
                return redirect("workspace:invoice", pk=pk)
        invoice = selectors.invoice_for_page(invoice_id=pk)
    return render(
        request,
        "workspace/invoice_document.html",
        {
            "invoice": invoice,
            "payment_form": payment_form,
            "payment_errors": _form_errors(payment_form) if payment_form.is_bound else [],
            "sync_states": selectors.sync_states_of(invoice),
            **journal_context(request, invoice),
            "can_void": request.user.has_perm("invoices.void_invoice"),
            "can_pay": invoice.status in Invoice.OPEN_STATUSES
            and invoice.balance > 0
            and request.user.has_perm("invoices.add_payment"),
        },
        status=status,
    )


# --- clients -------------------------------------------------------------------------------------


@require_GET
@staff_page("clients.view_client")
def client_detail(request, pk: int):
    client = get_object_or_404(Client, pk=pk)
    return render(
        request,
        "workspace/client_detail.html",
        {
            "client": client,
            **selectors.client_timeline(client=client),
            **journal_context(request, client),
        },
    )


# --- PDFs ----------------------------------------------------------------------------------------


def _pdf_response(kind: str, document) -> HttpResponse:
    try:
        content = document_pdf(kind=kind, document=document)
    except PdfUnavailable as error:
        return HttpResponse(
            f"PDFs cannot be made on this server: {error}", status=503, content_type="text/plain"
        )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.number}.pdf"'
    return response


@require_GET
@staff_page("quotes.view_quote")
def quote_pdf(request, pk: int):
    quote = get_object_or_404(Quote.objects.select_related("client"), pk=pk)
    return _pdf_response("quote", quote)


@require_GET
@staff_page("invoices.view_invoice")
def invoice_pdf(request, pk: int):
    invoice = get_object_or_404(Invoice.objects.select_related("client"), pk=pk)
    return _pdf_response("invoice", invoice)


# --- dashboards ----------------------------------------------------------------------------------


@require_GET
@staff_page("invoices.view_invoice")
def receivables(request):
    report = selectors.receivables_by_age()
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="receivables-{report["today"]}.csv"'
        )
        writer = csv.writer(response)
        writer.writerow(["Client", "Currency", *(label for _, label in report["buckets"]), "Total"])
        for row in report["rows"]:
            # A leading = + - @ would be a formula in a spreadsheet; names are quoted with '.
            name = row["client__name"]
            if name[:1] in "=+-@":
                name = f"'{name}"
            writer.writerow(
                [
                    name,
                    row["currency"],
                    *(f"{row[key]:.2f}" for key, _ in report["buckets"]),
                    f"{row['total']:.2f}",
                ]
            )
        return response
    charts_by_currency = {
        currency: charts.bar_chart(
            title=f"Receivables by age ({currency})",
            bars=[(label, totals[key]) for key, label in report["buckets"]],
            unit=currency,
        )
        for currency, totals in report["totals"].items()
    }
    return render(
        request, "workspace/receivables.html", {"report": report, "charts": charts_by_currency}
    )


@require_GET
@vary_on_headers("HX-Request")
@staff_page("sync.view_connection")
def sync_dashboard(request):
    health = selectors.sync_dashboard()
    for connection in health["connections"]:
        series = connection["series"]
        connection["success_chart"] = charts.line_chart(
            title=f"{connection['name']}: share of calls that succeeded, per hour",
            points=[point["success_rate"] for point in series],
            maximum=1.0,
            top_label="100%",
        )
        connection["latency_chart"] = charts.line_chart(
            title=f"{connection['name']}: average vendor latency per hour (ms)",
            points=[point["latency_ms"] for point in series],
            top_label=f"{max((p['latency_ms'] for p in series), default=0):,} ms",
        )
        budget = connection["budget"]
        used, left = budget.get("day_used", 0), budget.get("day_left")
        share = (used / (used + left)) if left is not None and (used + left) else None
        connection["budget_used"] = None if share is None else f"{share * 100:.1f}%"
    return render(request, "workspace/sync_dashboard.html", {"health": health})
