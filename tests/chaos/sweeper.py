"""The minute sweep on the run's scaled clock: `python -m tests.chaos.sweeper SECONDS` queues the
real drain task (apps.sync.tasks.outbox_drain_task, what the `syncdesk:sync.outbox_drain`
schedule runs each minute) through the configured broker every SECONDS real seconds, one vendor
minute. django-q2's schedules cannot run more often than once a minute (and fire within ±30 s),
so on a clock where a minute lasts a second the sweep is this loop instead."""

import os
import sys
import time

import django


def main(seconds: float) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    django.setup()
    # After django.setup(): django_q reads the settings when imported.
    from django_q.tasks import async_task

    from apps.sync.engine.outbox import DRAIN_TASK

    while True:
        async_task(DRAIN_TASK, None)
        time.sleep(seconds)


if __name__ == "__main__":
    main(float(sys.argv[1]))
