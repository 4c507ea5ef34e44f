"""Periodic django-q2 jobs, kept in the database so they run once per
installation however many web workers there are."""

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from backups.services import SCHEDULE_NAME as BACKUP_SCHEDULE
from backups.services import backup_next_run


def schedules_ensure() -> None:
    """Create or update every periodic job (idempotent; runs at each start)."""
    Schedule.objects.update_or_create(
        name="catalog-discovery",
        defaults={
            "func": "catalog.tasks.discovery_task",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.DISCOVERY_INTERVAL_MINUTES,
            "repeats": -1,
        },
    )
    Schedule.objects.update_or_create(
        name="logs-retention",
        defaults={
            "func": "logs.tasks.retention_task",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
        },
    )
    Schedule.objects.update_or_create(
        name="execution-cleanup",
        defaults={
            "func": "execution.tasks.cleanup_task",
            "schedule_type": Schedule.MINUTES,
            "minutes": max(1, settings.CLEANUP_INTERVAL // 60),
            "repeats": -1,
        },
    )
    _system_backup_ensure()


def _system_backup_ensure() -> None:
    if not settings.BACKUP_ENABLED:
        Schedule.objects.filter(name=BACKUP_SCHEDULE).delete()
        return
    defaults = {"func": "backups.tasks.backup_task", "schedule_type": Schedule.DAILY, "repeats": -1}
    current = Schedule.objects.filter(name=BACKUP_SCHEDULE).first()
    # Only a new or changed time of day moves next_run: recomputing it at every
    # start would postpone a backup that is due (the app was down at that time).
    if (
        current is None
        or current.next_run is None
        or f"{timezone.localtime(current.next_run):%H:%M}" != settings.BACKUP_SCHEDULE_TIME
    ):
        defaults["next_run"] = backup_next_run()
    Schedule.objects.update_or_create(name=BACKUP_SCHEDULE, defaults=defaults)
