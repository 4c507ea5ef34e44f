"""Execution log files, deletion and retention."""

import json
import logging
import os
import tempfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.levels import LEVEL_ORDER
from logs.exports import RECORD_FIRST_LINE, record_context, record_result
from logs.models import ExecutionLog
from projects.services import user_logs_dir

logger = logging.getLogger(__name__)


def log_file_path(execution: ExecutionLog) -> Path | None:
    """`.../execution_<uuid>.log` beside the execution's output files."""
    if not execution.stdout_path:
        return None
    stdout = Path(settings.LOGS_DIR) / execution.stdout_path
    return stdout.with_name(f"execution_{execution.execution_uuid}.log")


def log_files(execution: ExecutionLog) -> list[Path]:
    """Every file belonging to the execution (output, exit file, full record)."""
    record = log_file_path(execution)
    if record is None:
        return []
    stem = f"execution_{execution.execution_uuid}"
    return sorted(record.parent.glob(f"{stem}.*"))


def _stream_reference(logs_root: Path, relative: str) -> bytes:
    path = logs_root / relative if relative else None
    try:
        size = path.stat().st_size if path is not None else None
    except OSError:
        size = None
    if size is None:
        return b"(no output file)\n"
    return f"-> {path.name} ({size} bytes)\n".encode()


def log_record_write(execution: ExecutionLog) -> Path | None:
    """Write the record of a finished execution to `execution_<uuid>.log`: a
    context header, references to the stdout and stderr files beside it (not
    a copy: the output is stored once, and downloads assemble the full record
    from those files), debug notes and a footer with the exit code and
    duration. Temporary file, then rename: never a half-written log."""
    path = log_file_path(execution)
    if path is None:
        return None
    logs_root = Path(settings.LOGS_DIR)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as target:
            target.write(RECORD_FIRST_LINE)
            target.write(b"===== CONTEXT =====\n")
            target.write(
                json.dumps(
                    record_context(execution), indent=2, ensure_ascii=False, default=str
                ).encode()
                + b"\n"
            )
            target.write(b"===== STDOUT =====\n")
            target.write(_stream_reference(logs_root, execution.stdout_path))
            target.write(b"===== STDERR =====\n")
            target.write(_stream_reference(logs_root, execution.stderr_path))
            target.write(b"===== DEBUG =====\n" + (execution.debug_output or "").encode() + b"\n")
            target.write(b"===== RESULT =====\n")
            target.write(
                json.dumps(record_result(execution), indent=2, default=str).encode() + b"\n"
            )
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        logger.exception("Could not write the log record of %s", execution.execution_uuid)
        return None
    return path


def execution_log_delete(*, execution: ExecutionLog) -> None:
    """Delete the row and every file of a finished execution."""
    files = log_files(execution)
    with transaction.atomic():
        execution.delete()
    for path in files:
        path.unlink(missing_ok=True)


def retention_cutoffs(now=None) -> dict[str, object]:
    now = now or timezone.now()
    return {
        level: now - timedelta(days=settings.LOG_RETENTION_DAYS[level]) for level in LEVEL_ORDER
    }


def logs_cleanup(*, user=None, now=None) -> int:
    """Delete finished executions older than their owner's retention (by level;
    logs of deleted users keep the longest, the admin's, so their history stays
    readable). Only `user`'s when given.
    Returns how many were deleted."""
    cutoffs = retention_cutoffs(now)
    finished = ExecutionLog.objects.filter(status__in=ExecutionLog.FINAL).select_related("user")
    if user is not None:
        finished = finished.filter(user=user)
    deleted = 0
    for level, cutoff in cutoffs.items():
        owners = Q(user__user_level=level)
        if level == "admin":
            owners |= Q(user__isnull=True)
        expired = finished.filter(owners, start_time__lt=cutoff)
        for execution in expired.iterator():
            execution_log_delete(execution=execution)
            deleted += 1
    return deleted


def storage_used(*, user) -> int:
    """Bytes of execution log files kept on disk for the user."""
    total = 0
    folder = user_logs_dir(user)
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def system_logs_rotate() -> list[str]:
    """Rotate data/logs/system/*.log files larger than SYSTEM_LOG_MAX_BYTES:
    x.log -> x.log.1 -> x.log.2 ..., keeping SYSTEM_LOG_KEEP. Writers reopen
    the file by themselves (WatchedFileHandler, daphne's access log on restart)."""
    rotated = []
    folder = Path(settings.SYSTEM_LOG_DIR)
    for path in sorted(folder.glob("*.log")):
        try:
            if path.stat().st_size <= settings.SYSTEM_LOG_MAX_BYTES:
                continue
        except OSError:
            continue
        for index in range(settings.SYSTEM_LOG_KEEP - 1, 0, -1):
            older = path.with_name(f"{path.name}.{index}")
            if older.exists():
                os.replace(older, path.with_name(f"{path.name}.{index + 1}"))
        os.replace(path, path.with_name(f"{path.name}.1"))
        path.with_name(f"{path.name}.{settings.SYSTEM_LOG_KEEP + 1}").unlink(missing_ok=True)
        rotated.append(path.name)
    return rotated
