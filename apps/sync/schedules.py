"""The sync schedules, the engine's and each registered connector's; `manage.py sync schedules`
(and schedules_apply) writes them. Read after the app registry is ready, so connectors are in."""

from apps.core.schedules import DAILY, MINUTES, ScheduleSpec
from apps.sync.engine import registry

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
        # Before the catalogue pull, so a pulled item's tax finds its mapping.
        name="syncdesk:sync.vendor_settings",
        func="apps.sync.tasks.vendor_settings_refresh_task",
        schedule_type=DAILY,
        hour=1,
    ),
    ScheduleSpec(
        name="syncdesk:sync.logs_prune",
        func="apps.sync.tasks.logs_prune_task",
        schedule_type=DAILY,
        hour=3,
    ),
    ScheduleSpec(
        name="syncdesk:sync.token_disuse",
        func="apps.sync.tasks.token_disuse_warn_task",
        schedule_type=DAILY,
        hour=4,
    ),
    ScheduleSpec(
        name="syncdesk:sync.health_alert",
        func="apps.sync.tasks.health_alert_task",
        schedule_type=MINUTES,
        minutes=5,
    ),
]
SCHEDULES += [spec for connector in registry.connectors() for spec in connector.schedules]
