"""Periodic django-q2 jobs, kept in the database so they run once per
installation however many web workers there are."""

from django.conf import settings
from django_q.models import Schedule


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
