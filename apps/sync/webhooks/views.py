"""The webhook endpoint every connector's deliveries reach: a plain view that reads the raw body
first, lets the connector verify it, stores it once and answers at once (200 with an empty body,
no cookies); forged deliveries get 401, malformed ones 400, ones over Django's upload limit 413
(all counted as refusals). Processing happens in a task."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.sync.webhooks.models import WebhookRefusal
from apps.sync.webhooks.services import refusal_count, webhook_receive


@csrf_exempt
@require_POST
def receive(request: HttpRequest, source: str) -> HttpResponse:
    try:
        body = request.body  # the raw bytes, before anything parses them
    except RequestDataTooBig:
        # Django would answer 400 before verification, uncounted: a flood of oversized posts
        # would not show in the refusal figures. Nothing of it is read or stored.
        refusal_count(source=source, reason=WebhookRefusal.Reason.TOO_LARGE)
        return HttpResponse(status=413)
    status = webhook_receive(
        source=source, body=body, query=request.GET.dict(), headers=request.headers
    )
    return HttpResponse(status=status)
