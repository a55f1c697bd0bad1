"""Schedules declared in code reach django-q2 once, and again only when they change."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from apps.core.schedules import (
    DAILY,
    HOURLY,
    MINUTES,
    ScheduleSpec,
    apply_schedules,
    declared_schedules,
)

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


def test_failed_emails_are_retried_hourly():
    declared = {spec.name: spec for spec in declared_schedules()}
    assert declared["syncdesk:quotes.resend_emails"].func == (
        "apps.quotes.tasks.resend_quote_emails_task"
    )
    assert declared["syncdesk:invoices.resend_emails"].func == (
        "apps.invoices.tasks.resend_invoice_emails_task"
    )
    assert {
        declared[name].schedule_type
        for name in ("syncdesk:quotes.resend_emails", "syncdesk:invoices.resend_emails")
    } == {HOURLY}


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


@pytest.mark.parametrize("time_zone", ["UTC", "Africa/Johannesburg", "Europe/London"])
def test_a_new_time_of_day_in_code_moves_the_next_run(settings, time_zone):
    settings.TIME_ZONE = time_zone
    daily = ScheduleSpec(
        name="syncdesk:daily", func="apps.x.tasks.d", schedule_type=DAILY, hour=7, minute=0
    )
    assert apply_schedules([daily])["created"] == ["syncdesk:daily"]
    first = timezone.localtime(Schedule.objects.get(name="syncdesk:daily").next_run)
    assert (first.hour, first.minute) == (7, 0)
    assert apply_schedules([daily])["unchanged"] == ["syncdesk:daily"]

    for hour, minute in [(6, 0), (6, 45)]:  # the hour changes, then only the minute
        moved = ScheduleSpec(
            name="syncdesk:daily",
            func="apps.x.tasks.d",
            schedule_type=DAILY,
            hour=hour,
            minute=minute,
        )
        before = timezone.now()
        assert apply_schedules([moved])["updated"] == ["syncdesk:daily"]
        next_run = timezone.localtime(Schedule.objects.get(name="syncdesk:daily").next_run)
        assert (next_run.hour, next_run.minute, next_run.second) == (hour, minute, 0)
        assert before < next_run <= before + datetime.timedelta(days=1)
        assert apply_schedules([moved])["unchanged"] == ["syncdesk:daily"]


def test_a_schedule_run_by_the_worker_keeps_its_time_of_day():
    daily = ScheduleSpec(
        name="syncdesk:daily", func="apps.x.tasks.d", schedule_type=DAILY, hour=7, minute=30
    )
    apply_schedules([daily])
    row = Schedule.objects.get(name="syncdesk:daily")
    # What django-q2 does after a run: the same local time, days later.
    row.next_run = row.calculate_next_run(row.next_run + datetime.timedelta(days=40))
    row.save()
    assert apply_schedules([daily])["unchanged"] == ["syncdesk:daily"]
    assert Schedule.objects.get(name="syncdesk:daily").next_run == row.next_run


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
