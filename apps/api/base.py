"""What every API view shares: authentication, roles, throttling, cursor pages, problem details,
Idempotency-Key replay on POST, ETag/If-Match, and the sync state of the records it returns."""

import hashlib
import json
from collections.abc import Callable
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import filters, status, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings

from apps.api import services as api_services
from apps.api.authentication import BearerTokenAuthentication
from apps.api.errors import Conflict, PreconditionFailed
from apps.api.filters import StrictFilterBackend
from apps.api.pagination import ApiCursorPagination
from apps.api.permissions import ActionPermission
from apps.api.throttling import TokenRateThrottle

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Headers of a first answer that a replay repeats.
REPLAYED_HEADERS = ("Location", "ETag")


def etag_for(instance) -> str:
    """A strong validator: the row's identity and its last change time (updated on every write)."""
    stamp = f"{instance._meta.label}:{instance.pk}:{instance.updated_at.isoformat()}"
    return '"' + hashlib.sha256(stamp.encode()).hexdigest()[:32] + '"'


@contextmanager
def state_conflicts(*fields: str):
    """A service's refusal keyed only by a state field (status, ...) is a 409, not a 400."""
    try:
        yield
    except DjangoValidationError as error:
        keys = set(getattr(error, "error_dict", {}) or {})
        if keys and keys <= set(fields):
            raise Conflict(error.messages[0]) from error
        raise


class ApiViewSet(viewsets.GenericViewSet):
    authentication_classes = [
        BearerTokenAuthentication,
        *api_settings.DEFAULT_AUTHENTICATION_CLASSES,
    ]
    permission_classes = [ActionPermission]
    throttle_classes = [TokenRateThrottle]
    pagination_class = ApiCursorPagination
    filter_backends = [
        StrictFilterBackend,
        filters.SearchFilter,
        filters.OrderingFilter,
    ]
    ordering_fields = ["id"]
    # Any segment reaches the view, so that `/quotes/0.5/` is a problem+json 404 like `/quotes/9/`
    # (the router's default pattern leaves dotted ids to Django's HTML 404).
    lookup_value_regex = "[^/]+"
    action_permissions: dict[str, tuple[str, ...]] = {}
    # The model whose per-connection sync state the records carry (None: they carry none).
    sync_model = None

    # --- dispatch: Idempotency-Key on POST ------------------------------------------------------

    def dispatch(self, request, *args, **kwargs):
        # DRF's dispatch, with the handler wrapped for idempotent POSTs once the user is known.
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            if request.method.lower() in self.http_method_names:
                handler = getattr(self, request.method.lower(), self.http_method_not_allowed)
            else:
                handler = self.http_method_not_allowed
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if request.method == "POST" and key is not None:
                response = self._idempotent(handler, key, request, *args, **kwargs)
            else:
                response = handler(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def _idempotent(self, handler: Callable, key: str, request, *args, **kwargs):
        if not 1 <= len(key) <= 255:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({IDEMPOTENCY_HEADER: "Between 1 and 255 characters."})
        claim = api_services.idempotency_claim(
            user=request.user,
            key=key,
            method=request.method,
            path=request.path,
            fingerprint=api_services.request_fingerprint(request.body),
        )
        if isinstance(claim, api_services.Replay):
            response = Response(
                claim.body, status=claim.status, content_type=claim.headers.get("Content-Type")
            )
            for name, value in claim.headers.items():
                if name != "Content-Type":
                    response[name] = value
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            try:
                response = handler(request, *args, **kwargs)
            except Exception as exc:
                response = self.handle_exception(exc)
        except BaseException:
            api_services.idempotency_release(record=claim)
            raise
        if response.status_code >= 500:
            api_services.idempotency_release(record=claim)
            return response
        body = json.loads(JSONRenderer().render(response.data)) if response.data else None
        headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
        if getattr(response, "content_type", None):
            headers["Content-Type"] = response.content_type
        api_services.idempotency_finish(
            record=claim, status=response.status_code, body=body, headers=headers
        )
        return response

    # --- records ---------------------------------------------------------------------------------

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context.setdefault("sync_states", {})
        return context

    def sync_states_for(self, records) -> dict:
        if self.sync_model is None:
            return {}
        from apps.sync.selectors import record_sync_states

        return record_sync_states(model=self.sync_model, object_ids=[r.pk for r in records])

    def output(self, serializer_class, instance, *, status_code=status.HTTP_200_OK, headers=None):
        """One record, with its sync state and ETag; a 201 says where the record lives."""
        context = self.get_serializer_context() | {"sync_states": self.sync_states_for([instance])}
        response = Response(
            serializer_class(instance, context=context).data, status=status_code, headers=headers
        )
        if hasattr(instance, "updated_at"):
            response["ETag"] = etag_for(instance)
        if status_code == status.HTTP_201_CREATED and getattr(self, "location_name", None):
            response["Location"] = self.location_for(instance)
        return response

    location_name = ""

    def location_for(self, instance) -> str:
        from django.urls import reverse

        return reverse(f"api:{self.location_name}-detail", kwargs={"pk": instance.pk})

    def list_response(self, queryset, serializer_class):
        page = self.paginate_queryset(self.filter_queryset(queryset))
        context = self.get_serializer_context() | {"sync_states": self.sync_states_for(page)}
        data = serializer_class(page, many=True, context=context).data
        return self.get_paginated_response(data)

    @contextmanager
    def matching(self, instance):
        """Inside: the row is locked and If-Match (when sent) matches it, else 412."""
        with transaction.atomic():
            locked = type(instance).objects.select_for_update().only("pk", "updated_at")
            current = locked.get(pk=instance.pk)
            wanted = self.request.headers.get("If-Match")
            if wanted and wanted.strip() != "*":
                tags = {tag.strip() for tag in wanted.split(",")}
                if etag_for(current) not in tags:
                    raise PreconditionFailed()
            yield
