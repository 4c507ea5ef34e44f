"""django-q2 tasks of the logs app."""

from logs.services import logs_cleanup, system_logs_rotate


def retention_task() -> dict:
    return {"deleted": logs_cleanup(), "rotated": system_logs_rotate()}
