"""Webhook endpoints for Zoho Books and Zoho CRM: plain views that read the raw body first,
verify, store once and answer at once (200 with an empty body, no cookies); forged deliveries
get 401, malformed ones 400. Processing happens in a task (apps/sync/webhook_services.py)."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.sync.webhook_models import WebhookSource
from apps.sync.webhook_services import webhook_receive


def _receive(request: HttpRequest, source: str) -> HttpResponse:
    body = request.body  # the raw bytes, before anything parses them
    status = webhook_receive(
        source=source, body=body, query=request.GET.dict(), headers=request.headers
    )
    return HttpResponse(status=status)


@csrf_exempt
@require_POST
def zoho_books_webhook(request: HttpRequest) -> HttpResponse:
    return _receive(request, WebhookSource.ZOHO_BOOKS)


@csrf_exempt
@require_POST
def zoho_crm_notification(request: HttpRequest) -> HttpResponse:
    return _receive(request, WebhookSource.ZOHO_CRM)
