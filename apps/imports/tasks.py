"""django-q2 entry points of the imports app: each takes an id and calls one service."""

from .services import import_job_run


def import_job_run_task(job_id: int) -> None:
    import_job_run(job_id=job_id)
