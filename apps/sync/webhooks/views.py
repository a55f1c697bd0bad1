"""The webhook endpoint every connector's deliveries reach: a plain view that reads the raw body
first, lets the connector verify it, stores it once and answers at once (200 with an empty body,
no cookies); forged deliveries get 401, malformed ones 400. Processing happens in a task."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.sync.webhooks.services import webhook_receive


@csrf_exempt
@require_POST
def receive(request: HttpRequest, source: str) -> HttpResponse:
    body = request.body  # the raw bytes, before anything parses them
    status = webhook_receive(
        source=source, body=body, query=request.GET.dict(), headers=request.headers
    )
    return HttpResponse(status=status)
