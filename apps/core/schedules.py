"""Schedules declared in code and written to django-q2 idempotently.

Each app may have a `schedules.py` with `SCHEDULES = [ScheduleSpec(...), ...]`. `apply_schedules()`
(run by `manage.py schedules_apply`, which `make demo` calls) imports every app's module, creates or
updates one django-q2 Schedule row per spec by name, and deletes rows whose name starts with
`syncdesk:` but are no longer declared. Running it twice changes nothing.

    ScheduleSpec(name="syncdesk:invoices.reminders", func="apps.invoices.tasks.send_reminders_task",
                 schedule_type=DAILY, hour=7)                 # every day at 07:00 local time
    ScheduleSpec(name="syncdesk:sync.drain", func="apps.sync.tasks.drain_task",
                 schedule_type=MINUTES, minutes=1)            # every minute
"""

import datetime
import sys
from dataclasses import dataclass

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

PREFIX = "syncdesk:"
# django-q2's schedule types (Schedule.MINUTES etc.), spelled out so this module imports no models.
MINUTES = "I"
HOURLY = "H"
DAILY = "D"
WEEKLY = "W"
CRON = "C"
TYPES = (MINUTES, HOURLY, DAILY, WEEKLY, CRON)


@dataclass(frozen=True)
class ScheduleSpec:
    """One recurring task. `hour`/`minute` place the first run of a DAILY or WEEKLY schedule."""

    name: str
    func: str
    schedule_type: str
    minutes: int | None = None
    cron: str | None = None
    hour: int | None = None
    minute: int = 0
    args: str = ""
    kwargs: str = ""

    def __post_init__(self) -> None:
        if not self.name.startswith(PREFIX):
            raise ValueError(f"name: schedule names start with {PREFIX!r} ({self.name!r}).")
        if self.schedule_type not in TYPES:
            raise ValueError(f"schedule_type: {self.schedule_type!r} is not one of {TYPES}.")
        if self.schedule_type == MINUTES and not self.minutes:
            raise ValueError(f"minutes: {self.name} runs every N minutes; give N.")
        if self.schedule_type == CRON and not self.cron:
            raise ValueError(f"cron: {self.name} is a cron schedule; give the expression.")

    def row_values(self) -> dict:
        return {
            "func": self.func,
            "schedule_type": self.schedule_type,
            "minutes": self.minutes,
            "cron": self.cron,
            "args": self.args or None,
            "kwargs": self.kwargs or None,
            "repeats": -1,
        }

    def first_run(self, now: datetime.datetime | None = None) -> datetime.datetime:
        """The next local hour:minute for DAILY/WEEKLY with an hour; otherwise now."""
        now = now or timezone.now()
        if self.hour is None or self.schedule_type not in (DAILY, WEEKLY):
            return now
        local = timezone.localtime(now)
        candidate = local.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        if candidate <= local:
            candidate += datetime.timedelta(days=1)
        return candidate

    def keeps_time_of_day(self, next_run: datetime.datetime | None) -> bool:
        """Whether a row's next run is at this spec's local hour:minute (or the spec sets none).

        The Schedule row has no hour or minute of its own: the time of day lives in next_run,
        which django-q2 moves on by whole days (keeping local time across DST). So a changed
        hour or minute in code shows up only as a next_run at another time of day.
        """
        if self.hour is None or self.schedule_type not in (DAILY, WEEKLY):
            return True
        if next_run is None:
            return False
        local = timezone.localtime(next_run)
        return (local.hour, local.minute) == (self.hour, self.minute)


def declared_schedules() -> list[ScheduleSpec]:
    """Every app's SCHEDULES, in app order; a name declared twice is an error."""
    autodiscover_modules("schedules")
    specs: dict[str, ScheduleSpec] = {}
    for config in apps.get_app_configs():
        module = sys.modules.get(f"{config.name}.schedules")
        for spec in getattr(module, "SCHEDULES", ()):
            if spec.name in specs:
                raise ValueError(f"name: schedule {spec.name!r} is declared twice.")
            specs[spec.name] = spec
    return list(specs.values())


@transaction.atomic
def apply_schedules(specs: list[ScheduleSpec] | None = None) -> dict[str, list[str]]:
    """Create, update or remove Schedule rows so they match `specs` (default: all declared)."""
    from django_q.models import Schedule

    specs = declared_schedules() if specs is None else specs
    result: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "removed": []}
    for spec in specs:
        wanted = spec.row_values()
        rows = list(Schedule.objects.select_for_update().filter(name=spec.name).order_by("pk"))
        if not rows:
            Schedule.objects.create(name=spec.name, next_run=spec.first_run(), **wanted)
            result["created"].append(spec.name)
            continue
        row, duplicates = rows[0], rows[1:]
        for duplicate in duplicates:  # django-q2 has no unique constraint on name
            duplicate.delete()
        changed = [field for field, value in wanted.items() if getattr(row, field) != value]
        if not spec.keeps_time_of_day(row.next_run):
            changed.append("next_run")
        if changed or duplicates:
            timing = {"schedule_type", "minutes", "cron", "next_run"} & set(changed)
            for field in changed:
                if field in wanted:
                    setattr(row, field, wanted[field])
            if timing:
                row.next_run = spec.first_run()
            row.save()
            result["updated"].append(spec.name)
        else:
            result["unchanged"].append(spec.name)
    declared = {spec.name for spec in specs}
    stale = Schedule.objects.filter(name__startswith=PREFIX).exclude(name__in=declared)
    result["removed"] = sorted(stale.values_list("name", flat=True))
    stale.delete()
    return result
