"""The task paths of the release before the connector reshaping, kept for one release: tasks
queued (and schedules written) before an upgrade store these dotted paths and must still run.
Remove after the next release; `schedules_apply` rewrites the schedules to the new paths."""

from apps.sync.connectors.zoho.tasks import crm_watch_renew_task
from apps.sync.tasks import sync_now_task, webhook_process_task

__all__ = ["crm_watch_renew_task", "sync_now_task", "webhook_process_task"]
