from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django_q.models import Schedule

from backups.services import backup_next_run
from scriptsmanager.schedules import schedules_ensure


def backup_schedule() -> Schedule:
    return Schedule.objects.get(name="system-backup")


def test_the_daily_backup_is_scheduled_at_the_configured_local_time(data, settings, db):
    settings.TIME_ZONE = "Europe/Rome"
    settings.BACKUP_SCHEDULE_TIME = "03:30"

    schedules_ensure()

    schedule = backup_schedule()
    assert schedule.func == "backups.tasks.backup_task"
    assert schedule.schedule_type == Schedule.DAILY
    assert schedule.repeats == -1
    local = schedule.next_run.astimezone(ZoneInfo("Europe/Rome"))
    assert (local.hour, local.minute) == (3, 30)
    assert timezone.now() < schedule.next_run <= timezone.now() + timedelta(days=1)


def test_a_restart_keeps_a_due_run_and_a_new_time_moves_it(data, settings, db):
    schedules_ensure()
    overdue = backup_schedule().next_run - timedelta(days=1)
    Schedule.objects.filter(name="system-backup").update(next_run=overdue)

    schedules_ensure()
    assert backup_schedule().next_run == overdue

    settings.BACKUP_SCHEDULE_TIME = "23:15"
    schedules_ensure()
    moved = timezone.localtime(backup_schedule().next_run)
    assert f"{moved:%H:%M}" == "23:15"
    assert moved > timezone.now()


def test_disabling_backups_removes_the_schedule(data, settings, db):
    schedules_ensure()
    settings.BACKUP_ENABLED = False

    schedules_ensure()

    assert not Schedule.objects.filter(name="system-backup").exists()
    assert Schedule.objects.filter(name="logs-retention").exists()


def test_next_run_is_today_before_the_time_and_tomorrow_after_it(settings):
    settings.TIME_ZONE = "Europe/Rome"
    settings.BACKUP_SCHEDULE_TIME = "02:00"
    rome = ZoneInfo("Europe/Rome")

    before = backup_next_run(now=datetime(2024, 5, 1, 1, 59, tzinfo=rome))
    at = backup_next_run(now=datetime(2024, 5, 1, 2, 0, tzinfo=rome))

    assert before == datetime(2024, 5, 1, 2, 0, tzinfo=rome)
    assert at == datetime(2024, 5, 2, 2, 0, tzinfo=rome)
