"""django-q2 tasks of the logs app."""

from logs.services import logs_cleanup


def retention_task() -> int:
    return logs_cleanup()
