"""System backups: the whole data folder, database included, as
<BACKUP_PATH>/YYYY-MM-DD/data_backup_YYYYMMDD_HHMMSS.tar.gz.

An archive is written to a hidden temporary file in its date folder, synced,
then renamed to its final name, all under an exclusive lock
(<BACKUP_PATH>/.backup.lock) that backups, restores, deletions and retention
share: a failed or interrupted run never replaces or removes a good archive.
Each run appends to <BACKUP_PATH>/backup_logs/backup_YYYYMMDD.log and records
itself in backup_logs/status.json, which backup_status() reads.

The archive holds the data folder's tree relative to BASE_DATA_PATH, then
`backup_manifest.json` at its root naming the database member: the live
SQLite file is never archived raw but as a consistent copy, under its own
path when it lies in the data folder (`database.sqlite3` at the root
otherwise); a PostgreSQL database is archived as `database.pgdump`.
"""

import contextlib
import fcntl
import fnmatch
import io
import json
import logging
import os
import re
import shutil
import stat
import tarfile
import tempfile
import time as time_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditEvent
from accounts.services import audit_record
from backups import database
from projects.data_files import TEMP_PREFIX as DATA_TEMP_PREFIX
from projects.services_folders import (
    FOLDER_LAYOUT,
    FoldersBusy,
    folders_live_runs_wait,
    folders_upgrade,
)
from scriptsmanager.files import private_modes_fix

logger = logging.getLogger(__name__)

ARCHIVE_RE = re.compile(r"^data_backup_(\d{8})_(\d{6})(?:_(\d+))?\.tar\.gz$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TEMP_RE = re.compile(r"^\.data_backup_\d{8}_\d{6}(?:_\d+)?\.tar\.gz\.tmp$")
MANIFEST = "backup_manifest.json"
LOGS_FOLDER = "backup_logs"
STATUS_FILE = "status.json"
LOCK_FILE = ".backup.lock"
SNAPSHOT_PREFIX = ".snapshot-"
RESTORE_PREFIX = ".restore-"
SCHEDULE_NAME = "system-backup"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
LOCK_ATTEMPTS = 5

REASON_MANUAL = "manual"
REASON_SCHEDULED = "scheduled"
REASON_PRE_RESTORE = "pre-restore"
# Recorded as applied once a restore has renamed an older backup's folders, so
# that `migrate` on its (older) database does not rename them a second time.
FOLDERS_MIGRATION = ("projects", "0002_unique_folder_names")


class BackupError(Exception):
    """A backup, restore or deletion failed; str() is the message for people.

    `status_code` is the HTTP status the API answers with."""

    status_code = 507
    # Set once the failure is in the log, status.json and the audit trail.
    recorded = False

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        if status_code is not None:
            self.status_code = status_code


class BackupBusy(BackupError):
    status_code = 409


class BackupNotFound(BackupError):
    status_code = 404


@dataclass(frozen=True)
class BackupArchive:
    name: str
    path: Path
    date: str
    size: int
    created: datetime


@dataclass(frozen=True)
class BackupDay:
    date: str
    path: Path
    archives: list[BackupArchive] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(a.size for a in self.archives)


@dataclass(frozen=True)
class BackupResult:
    archive: BackupArchive
    reason: str
    files: int
    started: datetime
    finished: datetime


@dataclass(frozen=True)
class RestoreResult:
    archive: BackupArchive
    target: Path
    in_place: bool
    pre_restore: BackupArchive | None


# --- Paths, lock, log and status --------------------------------------------------------


def _data_dir() -> Path:
    return Path(os.path.realpath(settings.BASE_DATA_PATH))


def _root() -> Path:
    return Path(os.path.realpath(settings.BACKUP_PATH))


@contextlib.contextmanager
def backup_lock() -> Iterator[None]:
    """Hold the one lock of backups, restores, deletions and retention, across
    processes; raise BackupBusy at once when someone else holds it."""
    root = _root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise BackupError(
            _("The backup folder cannot be used: %(error)s") % {"error": _os_error_text(error)}
        ) from error
    try:
        # A few short retries: backup_status() probes the lock for an instant,
        # which must not make a backup starting at that moment give up.
        for attempt in range(LOCK_ATTEMPTS):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == LOCK_ATTEMPTS - 1:
                    raise BackupBusy(
                        _("Another backup or restore is running; try again when it has finished.")
                    ) from None
                time_module.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _backup_running() -> bool:
    try:
        fd = os.open(_root() / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _log(message: str, *, level: int = logging.INFO) -> None:
    """Append one line to today's backup log (and the application log)."""
    logger.log(level, "%s", message)
    now = timezone.localtime()
    folder = _root() / LOGS_FOLDER
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"backup_{now:%Y%m%d}.log").open("a", encoding="utf-8") as handle:
            handle.write(f"{now:%Y-%m-%d %H:%M:%S} {message}\n")
    except OSError as error:
        logger.error("Cannot write the backup log in %s: %s", folder, error)


def _status_read() -> dict[str, Any]:
    try:
        return json.loads((_root() / LOGS_FOLDER / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _status_record(run: dict[str, Any]) -> None:
    """Store `run` as the last run (and as the last success when it succeeded),
    replacing status.json atomically."""
    status = _status_read()
    status["last_run"] = run
    if run["status"] == "success":
        status["last_success"] = run
    folder = _root() / LOGS_FOLDER
    temp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=folder, prefix=".status-", suffix=".tmp", delete=False, encoding="utf-8"
        ) as handle:
            temp = handle.name
            json.dump(status, handle, indent=2)
        os.replace(temp, folder / STATUS_FILE)
    except OSError as error:
        logger.error("Cannot write the backup status in %s: %s", folder, error)
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _os_error_text(error: OSError) -> str:
    text = error.strerror or str(error)
    if error.filename:
        text = f"{text}: {error.filename}"
    return text


def _size_text(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


# --- Listing ----------------------------------------------------------------------------


def _archive_of(path: Path) -> BackupArchive | None:
    match = ARCHIVE_RE.match(path.name)
    if not match:
        return None
    try:
        naive = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
        info = path.stat(follow_symlinks=False)
    except (ValueError, OSError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    created = naive.replace(tzinfo=timezone.get_current_timezone())
    return BackupArchive(
        name=path.name, path=path, date=path.parent.name, size=info.st_size, created=created
    )


def _day_date(name: str) -> date | None:
    if not DATE_RE.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def backups_list() -> list[BackupDay]:
    """The date folders holding at least one archive, newest first, each with
    its archives newest first. Files and folders with other names are ignored."""
    root = _root()
    days = []
    try:
        folders = [p for p in root.iterdir() if _day_date(p.name) and p.is_dir()]
    except OSError:
        return []
    for folder in sorted(folders, reverse=True):
        try:
            archives = [a for a in map(_archive_of, folder.iterdir()) if a is not None]
        except OSError:
            continue
        if archives:
            archives.sort(key=lambda a: (a.created, a.name), reverse=True)
            days.append(BackupDay(date=folder.name, path=folder, archives=archives))
    return days


def backup_date_validate(value: str) -> str:
    """`value` when it is a date as YYYY-MM-DD; BackupError (400) otherwise."""
    if _day_date(value) is None:
        raise BackupError(
            _("“%(value)s” is not a date as YYYY-MM-DD.") % {"value": value}, status_code=400
        )
    return value


def backup_archive_find(name: str) -> BackupArchive:
    """The archive named by `name`: a date (YYYY-MM-DD, its newest archive) or
    an archive's file name. Raises BackupNotFound naming what exists."""
    match = ARCHIVE_RE.match(Path(name).name)
    if match:
        day = f"{match[1][:4]}-{match[1][4:6]}-{match[1][6:]}"
        archive = _archive_of(_root() / day / Path(name).name)
        if archive is not None:
            return archive
    elif _day_date(name) is not None:
        for day in backups_list():
            if day.date == name:
                return day.archives[0]
    else:
        raise BackupError(
            _("“%(value)s” is neither a date as YYYY-MM-DD nor a backup file name.")
            % {"value": name},
            status_code=400,
        )
    dates = [d.date for d in backups_list()]
    raise BackupNotFound(
        _("No backup “%(name)s” in %(root)s. Backups exist for: %(dates)s.")
        % {"name": name, "root": _root(), "dates": ", ".join(dates[:10]) or _("none")}
    )


# --- Creating ---------------------------------------------------------------------------


def _excluded(name: str, relative: str) -> bool:
    return any(
        fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(relative, pattern)
        for pattern in settings.BACKUP_EXCLUDE_PATTERNS
    )


def _collect(data: Path, skip: set[Path]) -> tuple[list[tuple[Path, str, os.stat_result]], int]:
    """The folders, regular files and inward relative symlinks to archive, and
    the number of bytes they hold. Paths in `skip` are left out whole."""
    found: list[tuple[Path, str, os.stat_result]] = []
    total = 0
    pending = [data]
    while pending:
        folder = pending.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except FileNotFoundError:
            continue
        for entry in entries:
            path = Path(entry.path)
            relative = path.relative_to(data).as_posix()
            if path in skip or entry.name.startswith(DATA_TEMP_PREFIX):
                continue
            if _excluded(entry.name, relative):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(info.st_mode):
                link = os.readlink(path)
                inside = os.path.normpath(os.path.join(os.path.dirname(relative), link))
                if os.path.isabs(link) or inside == ".." or inside.startswith("../"):
                    _log(f"Skipped {relative}: a symlink out of the data folder ({link})")
                    continue
            elif stat.S_ISDIR(info.st_mode):
                pending.append(path)
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
            else:
                continue
            found.append((path, relative, info))
    found.sort(key=lambda item: item[1])
    return found, total


class _ExactReader:
    """Reads exactly `size` bytes of a file that may shrink while it is read
    (a log being rotated): the missing end is zeros, instead of a broken archive."""

    def __init__(self, handle: Any, size: int) -> None:
        self.handle, self.left, self.short = handle, size, False

    def read(self, count: int = -1) -> bytes:
        count = self.left if count < 0 else min(count, self.left)
        data = self.handle.read(count)
        if len(data) < count:
            self.short = True
            data += b"\0" * (count - len(data))
        self.left -= count
        return data


def _tar_add_file(tar: tarfile.TarFile, path: Path, arcname: str) -> bool:
    """Add a regular file; False when it vanished since it was listed."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        _log(f"Skipped {arcname}: removed during the backup")
        return False
    with handle:
        info = tar.gettarinfo(arcname=arcname, fileobj=handle)
        reader = _ExactReader(handle, info.size)
        tar.addfile(info, reader)
    if reader.short:
        _log(f"{arcname} shrank during the backup; its end is padded with zeros")
    return True


def _database_snapshot(folder: Path, data: Path) -> tuple[Path, str, str, set[Path]]:
    """A consistent copy of the database in `folder`: (file, archive member,
    vendor, live paths to leave out of the file walk)."""
    connection = connections["default"]
    params = connection.settings_dict
    try:
        if connection.vendor == "sqlite":
            name = str(params["NAME"])
            if name == ":memory:" or "mode=memory" in name:
                raise BackupError(_("An in-memory SQLite database cannot be backed up."))
            live = Path(os.path.realpath(name))
            copy = folder / SQLITE_MEMBER
            database.sqlite_copy(live, copy)
            member = live.relative_to(data).as_posix() if live.is_relative_to(data) else None
            skip = {live, *(Path(f"{live}{suffix}") for suffix in SQLITE_SIDE_FILES)}
            return copy, member or SQLITE_MEMBER, "sqlite", skip
        if connection.vendor == "postgresql":
            copy = folder / POSTGRES_MEMBER
            database.postgres_dump(params, copy)
            return copy, POSTGRES_MEMBER, "postgresql", set()
    except database.DatabaseToolError as error:
        raise BackupError(str(error), status_code=503) from error
    raise BackupError(
        _("Backing up a %(vendor)s database is not supported.") % {"vendor": connection.vendor},
        status_code=503,
    )


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _archive_write(*, reason: str, started: datetime) -> tuple[BackupArchive, int]:
    """Write one archive (the caller holds the lock); returns it and its file count."""
    data, root = _data_dir(), _root()
    local = timezone.localtime(started)
    day = root / f"{local:%Y-%m-%d}"
    day_created = not day.is_dir()
    day.mkdir(parents=True, exist_ok=True, mode=0o700)
    snapshots = Path(tempfile.mkdtemp(prefix=SNAPSHOT_PREFIX, dir=root))
    temp: Path | None = None
    try:
        db_file, db_member, vendor, skip = _database_snapshot(snapshots, data)
        skip.add(root)
        entries, total = _collect(data, skip) if data.is_dir() else ([], 0)
        total += db_file.stat().st_size
        limit = int(settings.BACKUP_MAX_SIZE_GB * 1024**3)
        if total > limit:
            raise BackupError(
                _(
                    "The data to back up (%(size)s) exceeds BACKUP_MAX_SIZE_GB "
                    "(%(limit)s); nothing was written."
                )
                % {"size": _size_text(total), "limit": _size_text(limit)}
            )
        stem = f"data_backup_{local:%Y%m%d_%H%M%S}"
        name = next(
            n
            for n in (f"{stem}.tar.gz", *(f"{stem}_{i}.tar.gz" for i in range(2, 1000)))
            if not (day / n).exists()
        )
        temp = day / f".{name}.tmp"
        manifest = {
            "format": 1,
            "created": started.isoformat(),
            "reason": reason,
            "data_path": str(data),
            "database": {"vendor": vendor, "member": db_member},
            # Folders named <name>-<id>; absent (1) in older archives: see restore.
            "folder_layout": FOLDER_LAYOUT,
            "excluded": list(settings.BACKUP_EXCLUDE_PATTERNS),
        }
        files = 0
        # It holds secret_key: never readable by anyone else, whatever the umask.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            # name: what gzip records as the original file name (the final one).
            with tarfile.open(
                name=str(day / name), fileobj=handle, mode="w:gz", compresslevel=6
            ) as tar:
                for path, relative, info in entries:
                    if stat.S_ISREG(info.st_mode):
                        files += _tar_add_file(tar, path, relative)
                    else:
                        with contextlib.suppress(FileNotFoundError):
                            tar.add(path, arcname=relative, recursive=False)
                tar.add(db_file, arcname=db_member)
                blob = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(blob), int(started.timestamp()), 0o644
                tar.addfile(info, io.BytesIO(blob))
            handle.flush()
            os.fsync(handle.fileno())
        final = day / name
        os.replace(temp, final)
        temp = None
        _fsync_folder(day)
        size = final.stat().st_size
    except BaseException:
        if temp is not None:
            with contextlib.suppress(OSError):
                temp.unlink()
        if day_created:
            with contextlib.suppress(OSError):
                day.rmdir()
        raise
    finally:
        shutil.rmtree(snapshots, ignore_errors=True)
    archive = BackupArchive(
        name=name, path=final, date=day.name, size=size, created=local.replace(microsecond=0)
    )
    return archive, files + 1


def _backup_run(*, reason: str, actor: Any, request: HttpRequest | None) -> BackupResult:
    """Write one archive and record the run, success or failure (caller holds the lock)."""
    started = timezone.now()
    _log(f"Backup started ({reason}) of {_data_dir()}")
    try:
        archive, files = _archive_write(reason=reason, started=started)
    except (BackupError, OSError, tarfile.TarError) as error:
        if isinstance(error, BackupError):
            failure = error
        else:
            cause = _os_error_text(error) if isinstance(error, OSError) else str(error)
            failure = BackupError(_("The backup failed: %(error)s") % {"error": cause})
        _backup_failure_record(
            reason=reason, started=started, error=str(failure), actor=actor, request=request
        )
        failure.recorded = True
        if failure is error:
            raise
        raise failure from error
    finished = timezone.now()
    seconds = (finished - started).total_seconds()
    _log(
        f"Backup done ({reason}): {archive.path} ({_size_text(archive.size)}, "
        f"{files} files, {seconds:.1f} s)"
    )
    _status_record(
        {
            "started": started.isoformat(),
            "finished": finished.isoformat(),
            "status": "success",
            "reason": reason,
            "date": archive.date,
            "archive": archive.name,
            "size": archive.size,
            "files": files,
            "error": None,
        }
    )
    audit_record(
        action=AuditEvent.Action.BACKUP_CREATED,
        actor=actor,
        request=request,
        details={"reason": reason, "archive": archive.name, "size": archive.size},
    )
    return BackupResult(
        archive=archive, reason=reason, files=files, started=started, finished=finished
    )


def _backup_failure_record(
    *, reason: str, started: datetime, error: str, actor: Any, request: HttpRequest | None
) -> None:
    _log(f"Backup FAILED ({reason}): {error}", level=logging.ERROR)
    _status_record(
        {
            "started": started.isoformat(),
            "finished": timezone.now().isoformat(),
            "status": "failed",
            "reason": reason,
            "date": None,
            "archive": None,
            "size": None,
            "files": None,
            "error": error,
        }
    )
    try:
        audit_record(
            action=AuditEvent.Action.BACKUP_FAILED,
            actor=actor,
            request=request,
            details={"reason": reason, "error": error},
        )
    except DatabaseError:
        # The database may be why the backup failed; the failure is in the log.
        logger.exception("Cannot audit the failed backup")


def backup_create(
    *, reason: str, actor: Any = None, request: HttpRequest | None = None
) -> BackupResult:
    """Back up the data folder and the database now.

    Returns the new archive. Raises BackupBusy when another backup or restore
    is running (nothing recorded), BackupError for any other failure, after
    logging it, recording it in status.json and auditing BACKUP_FAILED; the
    existing archives are then untouched and no partial file is left.
    """
    try:
        with backup_lock():
            return _backup_run(reason=reason, actor=actor, request=request)
    except BackupBusy:
        _log(f"Backup skipped ({reason}): another backup or restore is running")
        raise
    except BackupError as error:
        if not error.recorded:  # the lock could not even be taken
            _backup_failure_record(
                reason=reason,
                started=timezone.now(),
                error=str(error),
                actor=actor,
                request=request,
            )
            error.recorded = True
        raise


# --- Deleting and retention ---------------------------------------------------------------


def _day_clean(folder: Path, archives: list[BackupArchive]) -> list[str]:
    """Remove `archives` and the temporary files of interrupted runs from a date
    folder (the caller holds the lock), and the folder when nothing else is left."""
    removed = []
    for archive in archives:
        archive.path.unlink(missing_ok=True)
        removed.append(archive.name)
    for path in folder.iterdir():
        if TEMP_RE.match(path.name):
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()
    return removed


def backup_delete(*, date: str, actor: Any = None, request: HttpRequest | None = None) -> list[str]:
    """Delete every archive of `date` (YYYY-MM-DD); returns their names.

    Files the backup does not recognise stay, and so does their folder.
    Raises BackupError (400) for a malformed date, BackupNotFound when that
    date has no archive, BackupBusy while a backup or restore runs.
    """
    backup_date_validate(date)
    with backup_lock():
        day = next((d for d in backups_list() if d.date == date), None)
        if day is None:
            raise BackupNotFound(_("No backup for %(date)s.") % {"date": date})
        removed = _day_clean(day.path, day.archives)
    _log(f"Deleted the backups of {date}: {', '.join(removed)}")
    audit_record(
        action=AuditEvent.Action.BACKUP_DELETED,
        actor=actor,
        request=request,
        details={"date": date, "archives": removed},
    )
    return removed


def backups_prune() -> list[str]:
    """Apply BACKUP_RETENTION_DAYS: delete the archives of date folders older
    than that many days before today; returns their names.

    The newest archive is always kept, however old; unrecognised files are
    never touched; temporary files of interrupted runs are removed.
    """
    cutoff = timezone.localdate() - timedelta(days=settings.BACKUP_RETENTION_DAYS)
    removed: list[str] = []
    with backup_lock():
        days = {d.date: d for d in backups_list()}
        newest = max(
            (a for d in days.values() for a in d.archives),
            key=lambda a: (a.created, a.name),
            default=None,
        )
        for folder in sorted(_root().iterdir()):
            day_date = _day_date(folder.name)
            if day_date is None or not folder.is_dir():
                continue
            archives = days[folder.name].archives if folder.name in days else []
            doomed = [a for a in archives if day_date < cutoff and a.path != newest.path]
            removed += _day_clean(folder, doomed)
        for path in _root().glob(f"{SNAPSHOT_PREFIX}*"):
            shutil.rmtree(path, ignore_errors=True)
    if removed:
        _log(f"Retention ({settings.BACKUP_RETENTION_DAYS} days) removed: {', '.join(removed)}")
        audit_record(
            action=AuditEvent.Action.BACKUP_DELETED,
            details={"reason": "retention", "archives": removed},
        )
    return removed


# --- Restoring --------------------------------------------------------------------------


def _member_filter(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
    # The "data" filter would strip a leading "/" and extract inside; an archive
    # we wrote never has one, so such a member means a forged archive.
    if member.name.startswith("/"):
        raise tarfile.AbsolutePathError(member)
    return tarfile.data_filter(member, destination)


def _extract(archive: BackupArchive, into: Path) -> dict[str, Any]:
    """Extract the archive into the new folder `into` and return its manifest.

    Absolute paths, `..`, links pointing out and device files are refused
    (tarfile's "data" filter, and no leading "/"); the first refused member
    stops the extraction.
    """
    try:
        with tarfile.open(archive.path, "r:gz") as tar:
            tar.extractall(into, filter=_member_filter)  # noqa: S202 - filtered
        # tarfile gives members their archived modes (0644 in older archives).
        private_modes_fix(roots=[into])
    except tarfile.FilterError as error:
        raise BackupError(
            _("%(archive)s holds an unsafe member and was not restored: %(error)s")
            % {"archive": archive.name, "error": error},
            status_code=400,
        ) from error
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(
            _("%(archive)s cannot be read: %(error)s") % {"archive": archive.name, "error": error}
        ) from error
    try:
        return json.loads((into / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BackupError(
            _("%(archive)s is not a system backup (it has no %(manifest)s).")
            % {"archive": archive.name, "manifest": MANIFEST},
            status_code=400,
        ) from None


def _tree_swap(
    new: Path, live: Path, old: Path, keep: set[Path], moves: list[tuple[Path, Path]]
) -> None:
    """Make `live` hold what `new` holds, moving its current entries into `old`.

    Paths in `keep`, and the folders leading to them, stay in place. Each
    rename is appended to `moves` so that a failure can be undone.
    """
    old.mkdir(exist_ok=True)
    for name in sorted(os.listdir(live)):
        path = live / name
        if path in keep:
            continue
        if path.is_dir() and not path.is_symlink() and any(k.is_relative_to(path) for k in keep):
            _tree_swap(new / name, path, old / name, keep, moves)
            continue
        os.rename(path, old / name)
        moves.append((path, old / name))
    if not new.is_dir():
        return
    for name in sorted(os.listdir(new)):
        target = live / name
        if target.exists() or target.is_symlink():
            continue  # a kept path, or a folder leading to one, swapped above
        os.rename(new / name, target)
        moves.append((new / name, target))


def backup_restore(
    *,
    date: str,
    target: Path | str | None = None,
    actor: Any = None,
    progress: Callable[[str], None] | None = None,
) -> RestoreResult:
    """Restore the archive named by `date` (see backup_archive_find).

    With `target`, extract it into that new or empty folder: the files only,
    the database copy staying there as a file. Without, restore in place:
    back up the current state first (reason "pre-restore"), extract beside
    the data folder, restore the database, then swap the data folder's
    contents for the archive's. Any failure before the swap leaves the data
    folder and the database as they were. Raises BackupNotFound, BackupBusy
    or BackupError.
    """

    def say(message: str) -> None:
        _log(message)
        if progress is not None:
            progress(message)

    archive = backup_archive_find(date)
    data = _data_dir()
    pre_restore = None
    try:
        with backup_lock():
            if target is None:
                say(
                    _("Restoring %(archive)s into the data folder %(data)s")
                    % {"archive": archive.path, "data": data}
                )
                say(_("Backing up the current state first"))
                try:
                    pre_restore = _backup_run(
                        reason=REASON_PRE_RESTORE, actor=actor, request=None
                    ).archive
                except BackupError as error:
                    raise BackupError(
                        _(
                            "The current state could not be backed up, so nothing was "
                            "restored: %(error)s"
                        )
                        % {"error": error}
                    ) from error
                say(_("Current state saved in %(archive)s") % {"archive": pre_restore.path})
                _restore_in_place(archive, data, say)
                destination = data
            else:
                destination = Path(os.path.abspath(target))
                say(
                    _("Restoring %(archive)s into %(target)s")
                    % {"archive": archive.path, "target": destination}
                )
                _restore_into(archive, destination, data)
    except (BackupError, OSError) as error:
        if isinstance(error, BackupBusy):
            raise
        failure = error if isinstance(error, BackupError) else BackupError(_os_error_text(error))
        _log(f"Restore of {archive.name} FAILED: {failure}", level=logging.ERROR)
        if failure is error:
            raise
        raise failure from error
    say(_("Restore finished"))
    audit_record(
        action=AuditEvent.Action.BACKUP_RESTORED,
        actor=actor,
        details={
            "archive": archive.name,
            "target": str(destination),
            "pre_restore": pre_restore.name if pre_restore else None,
        },
    )
    return RestoreResult(
        archive=archive, target=destination, in_place=target is None, pre_restore=pre_restore
    )


def _restore_into(archive: BackupArchive, destination: Path, data: Path) -> None:
    if destination == data:
        raise BackupError(
            _("The target is the data folder itself: restore without --target instead."),
            status_code=400,
        )
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise BackupError(
            _("The target %(path)s must be a new or empty folder.") % {"path": destination},
            status_code=400,
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=RESTORE_PREFIX, dir=destination.parent))
    try:
        _extract(archive, work / "tree")
        if destination.exists():
            destination.rmdir()
        os.rename(work / "tree", destination)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _restore_in_place(archive: BackupArchive, data: Path, say: Callable[[str], None]) -> None:
    connection = connections["default"]
    data.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=RESTORE_PREFIX, dir=data.parent))
    try:
        say(_("Extracting the archive"))
        tree = work / "tree"
        manifest = _extract(archive, tree)
        vendor = manifest.get("database", {}).get("vendor")
        member = str(manifest.get("database", {}).get("member", ""))
        if vendor != connection.vendor:
            raise BackupError(
                _(
                    "This backup holds a %(saved)s database but the configured one is "
                    "%(current)s: restore it with --target and move the data by hand."
                )
                % {"saved": vendor, "current": connection.vendor},
                status_code=400,
            )
        saved_db = tree / member
        if not member or not saved_db.is_file():
            raise BackupError(
                _("%(archive)s has no database copy %(member)s.")
                % {"archive": archive.name, "member": member}
            )
        old_layout = manifest.get("folder_layout", 1) < FOLDER_LAYOUT
        if old_layout:
            # Its folders will be renamed: runs writing under the current paths
            # must end first (nothing is replaced yet).
            say(_("This backup uses the old folder names; they will be made unique"))
            try:
                folders_live_runs_wait(seconds=settings.DATA_FOLDERS_MIGRATION_WAIT_SECONDS)
            except FoldersBusy as error:
                raise BackupError(str(error), status_code=409) from error
        os.rename(saved_db, work / "database")
        (tree / MANIFEST).unlink()
        keep = {_root(), work}
        say(_("Restoring the database"))
        try:
            if vendor == "sqlite":
                live = Path(os.path.realpath(connection.settings_dict["NAME"]))
                keep |= {live, *(Path(f"{live}{suffix}") for suffix in SQLITE_SIDE_FILES)}
                database.sqlite_restore(work / "database", live)
            else:
                if not connection.in_atomic_block:
                    # Our own idle session must not hold locks pg_restore waits for.
                    connection.close()
                database.postgres_restore(connection.settings_dict, work / "database")
        except database.DatabaseToolError as error:
            raise BackupError(str(error), status_code=503) from error
        say(_("Replacing the data folder's contents"))
        moves: list[tuple[Path, Path]] = []
        try:
            _tree_swap(tree, data, work / "old", keep, moves)
        except OSError as error:
            for source, destination in reversed(moves):
                with contextlib.suppress(OSError):
                    os.rename(destination, source)
            raise BackupError(
                _(
                    "Replacing the data folder's contents failed (%(error)s); "
                    "the files were put back."
                )
                % {"error": _os_error_text(error)}
            ) from error
        if old_layout:
            _folders_upgrade_restored(say)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _folders_upgrade_restored(say: Callable[[str], None]) -> None:
    """Give the restored data and log folders their unique names, as the
    migration does, and rewrite the paths the restored database stores."""
    say(_("Renaming the data and log folders to their unique names"))
    connection = connections["default"]
    try:
        with transaction.atomic():
            folders_upgrade(wait_seconds=0, say=say)
            recorder = MigrationRecorder(connection)
            if FOLDERS_MIGRATION not in recorder.applied_migrations():
                recorder.record_applied(*FOLDERS_MIGRATION)
    except (FoldersBusy, OSError, DatabaseError) as error:
        raise BackupError(
            _(
                "The backup was restored, but its folders keep their old names "
                "(%(error)s): run `manage.py migrate` once that is fixed."
            )
            % {"error": error}
        ) from error


# --- Status -------------------------------------------------------------------------------


def backup_next_run(*, now: datetime | None = None) -> datetime:
    """The next time of day BACKUP_SCHEDULE_TIME, in TIME_ZONE, after `now`."""
    local = timezone.localtime(now or timezone.now())
    hours, minutes = map(int, settings.BACKUP_SCHEDULE_TIME.split(":"))
    candidate = datetime.combine(local.date(), time(hours, minutes), tzinfo=local.tzinfo)
    if candidate <= local:
        candidate = datetime.combine(
            local.date() + timedelta(days=1), time(hours, minutes), tzinfo=local.tzinfo
        )
    return candidate


def _disk_free(path: Path) -> int | None:
    for folder in (path, *path.parents):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(folder).free
    return None


def backup_status() -> dict[str, Any]:
    """What the system backup did and will do: settings, last run and last
    success (as recorded in status.json, or None), next scheduled run (None
    when not scheduled), whether a backup runs now, total size and count of
    the archives, and the free bytes on BACKUP_PATH's disk."""
    from django_q.models import Schedule

    status = _status_read()
    days = backups_list()
    schedule = Schedule.objects.filter(name=SCHEDULE_NAME).first()
    return {
        "enabled": settings.BACKUP_ENABLED,
        "schedule_time": settings.BACKUP_SCHEDULE_TIME,
        "retention_days": settings.BACKUP_RETENTION_DAYS,
        "backup_path": str(_root()),
        "running": _backup_running(),
        "last_run": status.get("last_run"),
        "last_success": status.get("last_success"),
        "next_run": schedule.next_run if schedule and settings.BACKUP_ENABLED else None,
        "total_size": sum(d.size for d in days),
        "archives": sum(len(d.archives) for d in days),
        "disk_free": _disk_free(_root()),
    }
