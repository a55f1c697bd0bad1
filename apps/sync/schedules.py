"""The sync engine's schedules; `manage.py sync schedules` (and schedules_apply) writes them."""

from apps.core.schedules import DAILY, MINUTES, ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="syncdesk:sync.outbox_drain",
        func="apps.sync.tasks.outbox_drain_task",
        schedule_type=MINUTES,
        minutes=1,
    ),
    ScheduleSpec(
        name="syncdesk:sync.pull_clients",
        func="apps.sync.tasks.pull_task",
        schedule_type=MINUTES,
        minutes=15,
        args="'clients'",
    ),
    ScheduleSpec(
        name="syncdesk:sync.pull_services",
        func="apps.sync.tasks.pull_task",
        schedule_type=DAILY,
        hour=2,
        args="'services'",
    ),
    ScheduleSpec(
        # Channels are asked for one day and renewed with 12 hours left (webhook_services).
        name="syncdesk:sync.crm_watch_renew",
        func="apps.sync.flow_tasks.crm_watch_renew_task",
        schedule_type=MINUTES,
        minutes=30,
    ),
    ScheduleSpec(
        name="syncdesk:sync.logs_prune",
        func="apps.sync.tasks.logs_prune_task",
        schedule_type=DAILY,
        hour=3,
    ),
    ScheduleSpec(
        name="syncdesk:sync.health_alert",
        func="apps.sync.tasks.health_alert_task",
        schedule_type=MINUTES,
        minutes=5,
    ),
]
