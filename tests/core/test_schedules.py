"""Schedules declared in code reach django-q2 once, and again only when they change."""

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from apps.core.schedules import DAILY, MINUTES, ScheduleSpec, apply_schedules, declared_schedules

pytestmark = pytest.mark.django_db

OURS = {
    "syncdesk:quotes.expire": "apps.quotes.tasks.expire_quotes_task",
    "syncdesk:invoices.mark_overdue": "apps.invoices.tasks.mark_overdue_invoices_task",
    "syncdesk:invoices.reminders": "apps.invoices.tasks.send_reminders_task",
}


def rows() -> dict:
    return dict(Schedule.objects.filter(name__startswith="syncdesk:").values_list("name", "func"))


def test_the_apps_declare_the_daily_domain_schedules():
    declared = {spec.name: spec for spec in declared_schedules()}
    for name, func in OURS.items():
        assert declared[name].func == func
        assert declared[name].schedule_type == DAILY


def test_apply_is_idempotent_and_the_command_reports_it(capsys):
    call_command("schedules_apply")
    first = rows()
    assert OURS.items() <= first.items()
    next_runs = dict(Schedule.objects.values_list("name", "next_run"))
    result = apply_schedules()
    assert result["created"] == result["updated"] == result["removed"] == []
    assert rows() == first
    assert dict(Schedule.objects.values_list("name", "next_run")) == next_runs
    assert Schedule.objects.filter(name="syncdesk:quotes.expire").count() == 1


def test_apply_updates_changed_specs_removes_stale_ones_and_leaves_foreign_rows():
    Schedule.objects.create(name="syncdesk:gone", func="apps.x.tasks.gone", schedule_type="D")
    Schedule.objects.create(name="someone-else", func="other.task", schedule_type="D")
    Schedule.objects.create(name="syncdesk:a", func="apps.x.tasks.a", schedule_type="D")
    Schedule.objects.create(name="syncdesk:a", func="apps.x.tasks.a", schedule_type="D")
    specs = [
        ScheduleSpec(name="syncdesk:a", func="apps.x.tasks.a2", schedule_type=MINUTES, minutes=5)
    ]
    result = apply_schedules(specs)
    assert result == {
        "created": [],
        "updated": ["syncdesk:a"],
        "unchanged": [],
        "removed": ["syncdesk:gone"],
    }
    row = Schedule.objects.get(name="syncdesk:a")  # the duplicate is gone too
    assert (row.func, row.schedule_type, row.minutes) == ("apps.x.tasks.a2", "I", 5)
    assert Schedule.objects.filter(name="someone-else").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "quotes.expire", "schedule_type": DAILY}, "name: schedule names start with"),
        ({"name": "syncdesk:x", "schedule_type": "Z"}, "schedule_type: 'Z' is not one of"),
        ({"name": "syncdesk:x", "schedule_type": MINUTES}, "minutes: syncdesk:x runs every N"),
    ],
)
def test_bad_specs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ScheduleSpec(func="apps.x.tasks.y", **kwargs)
