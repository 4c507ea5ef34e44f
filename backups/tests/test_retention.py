from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from accounts.models import AuditEvent
from backups import services
from backups.tasks import backup_task


def day_folder(backup: Path, days_ago: int, *names: str) -> Path:
    """A date folder `days_ago` days before today holding files named `names`."""
    day = timezone.localdate() - timedelta(days=days_ago)
    folder = backup / day.isoformat()
    folder.mkdir(parents=True)
    for name in names:
        (folder / name.replace("DATE", f"{day:%Y%m%d}")).write_bytes(b"archive " + name.encode())
    return folder


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_retention_removes_only_expired_archives(data, settings, tmp_path, db):
    settings.BACKUP_RETENTION_DAYS = 7
    backup = tmp_path / "backup"
    recent = day_folder(
        backup, 3, "data_backup_DATE_020000.tar.gz", ".data_backup_DATE_020000_2.tar.gz.tmp"
    )
    boundary = day_folder(backup, 7, "data_backup_DATE_020000.tar.gz")
    expired = day_folder(
        backup, 8, "data_backup_DATE_020000.tar.gz", "data_backup_DATE_120000.tar.gz"
    )
    kept_foreign = day_folder(backup, 40, "data_backup_DATE_020000.tar.gz", "notes.txt")
    foreign = [backup / "not-a-date", backup / "1999-99-99"]
    for folder in foreign:
        folder.mkdir()
        (folder / "data_backup_19990101_020000.tar.gz").write_bytes(b"not ours")
    (backup / "data_backup_19990101_020000.tar.gz").write_bytes(b"not in a date folder")
    interrupted = day_folder(backup, 50, ".data_backup_DATE_020000.tar.gz.tmp")
    expected = [*names(kept_foreign)[:1], *names(expired)]
    recent_archive, boundary_archive = names(recent)[1], names(boundary)

    removed = services.backups_prune()

    assert sorted(removed) == sorted(expected)
    assert names(recent) == [recent_archive]
    assert names(boundary) == boundary_archive
    assert not expired.exists()
    assert names(kept_foreign) == ["notes.txt"]
    for folder in foreign:
        assert names(folder) == ["data_backup_19990101_020000.tar.gz"]
    assert (backup / "data_backup_19990101_020000.tar.gz").exists()
    assert not interrupted.exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.BACKUP_DELETED)
    assert event.details == {"reason": "retention", "archives": removed}


def test_retention_never_removes_the_newest_archive(data, settings, tmp_path, db):
    settings.BACKUP_RETENTION_DAYS = 7
    backup = tmp_path / "backup"
    older = day_folder(backup, 60, "data_backup_DATE_020000.tar.gz")
    newest = day_folder(
        backup, 30, "data_backup_DATE_020000.tar.gz", "data_backup_DATE_020000_2.tar.gz"
    )

    newest_archive = names(newest)[1]

    removed = services.backups_prune()

    assert newest_archive.endswith("_020000_2.tar.gz")
    assert names(newest) == [newest_archive]
    assert not older.exists()
    assert len(removed) == 2
    assert services.backups_prune() == []


def test_the_daily_task_backs_up_then_applies_the_retention(data, settings, tmp_path, db):
    settings.BACKUP_RETENTION_DAYS = 7
    expired = day_folder(tmp_path / "backup", 8, "data_backup_DATE_020000.tar.gz")
    expired_archive = names(expired)

    result = backup_task()

    assert Path(result["archive"]).is_file()
    assert result["pruned"] == expired_archive
    assert not expired.exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.BACKUP_CREATED)
    assert event.details["reason"] == "scheduled"
    settings.BACKUP_ENABLED = False
    assert backup_task() == {"skipped": "BACKUP_ENABLED is false"}
