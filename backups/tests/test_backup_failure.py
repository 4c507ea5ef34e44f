"""A backup that fails never touches the good archives, leaves no partial file,
and says so everywhere: exit code, backup log, API answer, status, audit."""

import json
import os
import resource
import shutil
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEvent
from backups import services
from backups.tests.conftest import manage


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under the backup folder except its logs: name -> content."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "backup_logs" not in p.parts
    }


def todays_log(backup: Path) -> str:
    return (backup / "backup_logs" / f"backup_{timezone.localdate():%Y%m%d}.log").read_text()


def test_a_backup_over_the_size_limit_fails_and_leaves_the_previous_ones_untouched(
    data, client_for, settings, tmp_path
):
    good = services.backup_create(reason=services.REASON_MANUAL).archive
    backup = tmp_path / "backup"
    before = snapshot(backup)
    settings.BACKUP_MAX_SIZE_GB = 1 / 1024**2  # 1 KiB: less than the data folder holds

    response = client_for("ada_admin").post("/api/system/backup")

    assert response.status_code == 507
    assert "BACKUP_MAX_SIZE_GB" in response.json()["detail"]
    assert snapshot(backup) == before
    assert [p.name for p in good.path.parent.iterdir()] == [good.name]
    assert "Backup FAILED (manual): " in todays_log(backup)
    event = AuditEvent.objects.get(action=AuditEvent.Action.BACKUP_FAILED)
    assert event.actor_username == "ada_admin"
    assert "BACKUP_MAX_SIZE_GB" in event.details["error"]
    status = client_for("ada_admin").get("/api/system/backup-status").json()
    assert status["last_run"]["status"] == "failed"
    assert "BACKUP_MAX_SIZE_GB" in status["last_run"]["error"]
    assert status["last_success"]["archive"] == good.name


def test_a_write_error_half_way_removes_the_partial_archive(data, tmp_path, db):
    good = services.backup_create(reason=services.REASON_MANUAL).archive
    backup = tmp_path / "backup"
    before = snapshot(backup)
    # The kernel refuses to grow any file past RLIMIT_FSIZE (root included), as
    # a full disk would: the database copy fits, the archive does not.
    if connection.vendor == "sqlite":
        database_size = os.path.getsize(connection.settings_dict["NAME"])
    else:
        database_size = 0
    limit = 2 * database_size + 8 * 1024**2
    (data / "incompressible.bin").write_bytes(os.urandom(limit + 2 * 1024**2))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        with pytest.raises(services.BackupError) as failure:
            services.backup_create(reason=services.REASON_MANUAL)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    assert "File too large" in str(failure.value)
    assert failure.value.status_code == 507
    assert snapshot(backup) == before
    assert sorted(p.name for p in good.path.parent.iterdir()) == [good.name]
    assert not list(backup.glob(".snapshot-*"))
    assert "Backup FAILED (manual): The backup failed: File too large" in todays_log(backup)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BACKUP_FAILED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_non_zero_with_one_line_when_the_date_folder_cannot_be_made(
    data, tmp_path
):
    backup = tmp_path / "backup"
    good = services.backup_create(reason=services.REASON_MANUAL).archive
    # Keep the good archive under an older date, then block today's folder
    # with a regular file: creating it fails, for root too.
    older = backup / "2000-01-01"
    shutil.move(good.path.parent, older)
    (backup / good.date).write_bytes(b"in the way")
    before = snapshot(backup)

    done = manage("backup")

    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("CommandError")]
    assert errors == [f"CommandError: The backup failed: File exists: {backup / good.date}"]
    assert "Traceback" not in done.stderr
    assert snapshot(backup) == before
    assert "Backup FAILED (manual): The backup failed: File exists" in todays_log(backup)
    status = json.loads((backup / "backup_logs" / "status.json").read_text())
    assert status["last_run"]["status"] == "failed"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BACKUP_FAILED).count() == 1


def test_an_unusable_backup_path_is_reported_not_raised(data, client_for, settings):
    settings.BACKUP_PATH = Path("/proc/sm-no-such-folder/backup")

    response = client_for("ada_admin").post("/api/system/backup")

    assert response.status_code == 507
    assert "/proc/sm-no-such-folder" in response.json()["detail"]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.BACKUP_FAILED).exists()
    assert client_for("ada_admin").get("/api/system/backups").json() == []
