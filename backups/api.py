"""System backup API, for administrators: create, list, delete, status.

A failure answers with the uniform error body naming its cause: 409 while
another backup or restore runs, 507 when the archive cannot be stored (too
big, disk full, folder not writable), 503 when the database copy failed.
"""

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from accounts.levels import Level, require_level
from backups import services

router = Router(tags=["system"])


class ArchiveOut(Schema):
    name: str
    date: str
    size: int
    created: datetime


class DayOut(Schema):
    date: str
    size: int
    archives: list[ArchiveOut]


class BackupOut(Schema):
    archive: ArchiveOut
    files: int
    started: datetime
    finished: datetime


class DeletedOut(Schema):
    date: str
    deleted: list[str]


class RunOut(Schema):
    started: datetime
    finished: datetime
    time: datetime
    status: str
    reason: str
    archive: str | None
    size: int | None
    error: str | None


class StatusOut(Schema):
    enabled: bool
    schedule_time: str
    retention_days: int
    backup_path: str
    running: bool
    last_run: RunOut | None
    last_success: RunOut | None
    next_run: datetime | None
    total_size: int
    archives: int
    disk_free: int | None


def _archive(archive: services.BackupArchive) -> dict:
    return {
        "name": archive.name,
        "date": archive.date,
        "size": archive.size,
        "created": archive.created,
    }


def _run(run: dict | None) -> dict | None:
    return None if run is None else {**run, "time": run["finished"]}


@router.post("/system/backup", response=BackupOut)
@require_level(Level.ADMIN)
def backup_now(request: HttpRequest):
    """Back up the data folder and the database now (takes as long as the backup)."""
    try:
        result = services.backup_create(
            reason=services.REASON_MANUAL, actor=request.user, request=request
        )
    except services.BackupError as error:
        raise HttpError(error.status_code, str(error)) from None
    return {
        "archive": _archive(result.archive),
        "files": result.files,
        "started": result.started,
        "finished": result.finished,
    }


@router.get("/system/backups", response=list[DayOut])
@require_level(Level.ADMIN)
def backups(request: HttpRequest):
    """The dates with backups, newest first, each with its archives."""
    return [
        {"date": day.date, "size": day.size, "archives": [_archive(a) for a in day.archives]}
        for day in services.backups_list()
    ]


@router.delete("/system/backups/{date}", response=DeletedOut)
@require_level(Level.ADMIN)
def backup_delete(request: HttpRequest, date: str):
    """Delete every archive of one date (YYYY-MM-DD)."""
    try:
        deleted = services.backup_delete(date=date, actor=request.user, request=request)
    except services.BackupError as error:
        raise HttpError(error.status_code, str(error)) from None
    return {"date": date, "deleted": deleted}


@router.get("/system/backup-status", response=StatusOut)
@require_level(Level.ADMIN)
def backup_status(request: HttpRequest):
    """Last run, next run, sizes and free disk space of the system backup."""
    status = services.backup_status()
    return {
        **status,
        "last_run": _run(status["last_run"]),
        "last_success": _run(status["last_success"]),
    }
