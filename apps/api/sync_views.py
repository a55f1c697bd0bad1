"""REST v1 over sync, for Admins: start and read runs, health, the conflict queue and dead letters.

Only sync's public services and selectors are called (apps.sync.services, apps.sync.selectors).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.api.base import ApiViewSet, state_conflicts
from apps.sync import selectors as sync_selectors
from apps.sync import services as sync_services
from apps.sync.models import Connection, Direction, Entity, SyncRun
from apps.sync.selectors import conflicts_list


class SyncRunSerializer(serializers.ModelSerializer):
    connection_name = serializers.CharField(source="connection.name", read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "connection",
            "connection_name",
            "entity",
            "direction",
            "status",
            "dry_run",
            "pages",
            "records",
            "created",
            "updated",
            "linked",
            "unchanged",
            "conflicts",
            "errors",
            "requests",
            "last_error",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]
        read_only_fields = fields


class SyncRunStartSerializer(serializers.Serializer):
    connection = serializers.PrimaryKeyRelatedField(queryset=Connection.objects.all())
    entity = serializers.ChoiceField(Entity.choices)
    direction = serializers.ChoiceField([*Direction.values, "both"], default="both")


class ConflictSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    connection = serializers.IntegerField(source="connection_id")
    connection_name = serializers.CharField(source="connection.name")
    entity = serializers.CharField()
    object_id = serializers.IntegerField()
    record = serializers.CharField(source="record_label", allow_null=True, default=None)
    field = serializers.CharField()
    base_value = serializers.JSONField(allow_null=True)
    local_value = serializers.JSONField(allow_null=True)
    remote_value = serializers.JSONField(allow_null=True)
    policy = serializers.CharField()
    status = serializers.CharField()
    resolution = serializers.CharField(allow_blank=True)
    resolved_value = serializers.JSONField(allow_null=True)
    resolved_by = serializers.IntegerField(source="resolved_by_id", allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ConflictResolveSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(["keep_local", "take_remote", "typed"])
    value = serializers.JSONField(
        required=False, allow_null=True, help_text="The value to keep, for `typed`."
    )


class DeadLetterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    connection = serializers.IntegerField(source="connection_id")
    connection_name = serializers.CharField(source="connection.name")
    entity = serializers.CharField()
    operation = serializers.CharField()
    object_id = serializers.IntegerField()
    reference = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField(allow_blank=True)
    last_http_status = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class RequeueSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=1000,
    )


class RequeuedSerializer(serializers.Serializer):
    requeued = serializers.IntegerField()


@extend_schema_view(
    list=extend_schema(summary="List sync runs (Admins)", responses=SyncRunSerializer(many=True)),
    retrieve=extend_schema(summary="Get a sync run (Admins)", responses=SyncRunSerializer),
    create=extend_schema(
        summary="Start a sync run: queued now, filled in as it goes (Admins)",
        request=SyncRunStartSerializer,
        responses={202: SyncRunSerializer},
    ),
)
class SyncRunViewSet(ApiViewSet):
    action_permissions = {
        "list": ("sync.view_syncrun",),
        "retrieve": ("sync.view_syncrun",),
        "create": ("sync.add_syncrun",),
    }
    http_method_names = ["get", "post", "head"]

    def get_queryset(self):
        return sync_selectors.sync_runs_list()

    def list(self, request):
        return self.list_response(self.get_queryset(), SyncRunSerializer)

    def retrieve(self, request, pk=None):
        return Response(SyncRunSerializer(self.get_object()).data)

    def create(self, request):
        data = SyncRunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = sync_services.sync_run_request(**data.validated_data)
        run = self.get_queryset().get(pk=run.pk)
        return Response(
            SyncRunSerializer(run).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/sync/runs/{run.pk}/"},
        )


@extend_schema_view(
    list=extend_schema(
        summary="Sync health: connections, success rate, queue, dead letters (Admins)",
        responses=OpenApiTypes.OBJECT,
    )
)
class SyncStatusViewSet(ApiViewSet):
    action_permissions = {"list": ("sync.view_connection",)}
    http_method_names = ["get", "head"]
    pagination_class = None
    filter_backends = []

    def list(self, request):
        return Response(sync_selectors.sync_health())


CONFLICT_STATUSES = ["open", "auto_resolved", "resolved", "reverted", "all"]


@extend_schema_view(
    list=extend_schema(
        summary="The conflict queue (open by default) (Admins)",
        parameters=[
            OpenApiParameter("status", str, enum=CONFLICT_STATUSES, description="Default: open.")
        ],
        responses=ConflictSerializer(many=True),
    )
)
class ConflictViewSet(ApiViewSet):
    action_permissions = {
        "list": ("sync.view_conflict",),
        "resolve": ("sync.change_conflict",),
    }
    http_method_names = ["get", "post", "head"]
    filter_backends = []

    def get_queryset(self):
        return conflicts_list(status=None)

    def list(self, request):
        wanted = request.query_params.get("status", "open")
        if wanted not in CONFLICT_STATUSES:
            raise ValidationError({"status": f"One of {', '.join(CONFLICT_STATUSES)}."})
        queryset = conflicts_list(status=None if wanted == "all" else wanted)
        page = self.paginate_queryset(queryset.order_by("-id"))
        return self.get_paginated_response(ConflictSerializer(page, many=True).data)

    @extend_schema(
        summary="Resolve a conflict: keep local, take remote, or a typed value (Admins)",
        request=ConflictResolveSerializer,
        responses=ConflictSerializer,
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        conflict = self.get_object()
        data = ConflictResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with state_conflicts("status"):
            conflict = sync_services.conflict_resolve(
                conflict=conflict, actor=request.user, **data.validated_data
            )
        return Response(ConflictSerializer(self.get_queryset().get(pk=conflict.pk)).data)


@extend_schema_view(
    list=extend_schema(
        summary="Dead letters: outbox items that used up their attempts (Admins)",
        responses=DeadLetterSerializer(many=True),
    )
)
class DeadLetterViewSet(ApiViewSet):
    action_permissions = {
        "list": ("sync.view_outboxitem",),
        "requeue": ("sync.change_outboxitem",),
    }
    http_method_names = ["get", "post", "head"]
    filter_backends = []

    def get_queryset(self):
        return sync_selectors.dead_letters_list()

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset().order_by("-id"))
        return self.get_paginated_response(DeadLetterSerializer(page, many=True).data)

    @extend_schema(
        summary="Requeue dead letters by id: their attempts start again (Admins)",
        request=RequeueSerializer,
        responses=RequeuedSerializer,
    )
    @action(detail=False, methods=["post"])
    def requeue(self, request):
        data = RequeueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        items = self.get_queryset().filter(pk__in=data.validated_data["ids"])
        return Response({"requeued": sync_services.dead_letters_requeue(items=items)})
