"""django-q2 tasks of the system backup: thin wrappers around services."""

from django.conf import settings

from backups.services import REASON_SCHEDULED, BackupBusy, BackupError, backup_create, backups_prune


def backup_task() -> dict:
    """The daily job: back up, then apply the retention. A failed backup is
    re-raised (the job shows as failed) after the retention ran: it never
    removes the newest good archive."""
    if not settings.BACKUP_ENABLED:
        return {"skipped": "BACKUP_ENABLED is false"}
    try:
        result = backup_create(reason=REASON_SCHEDULED)
    except BackupBusy:
        raise
    except BackupError:
        backups_prune()
        raise
    return {
        "archive": str(result.archive.path),
        "size": result.archive.size,
        "pruned": backups_prune(),
    }
