"""A project's data files: names checked, real paths confined, writes atomic.

Every name from a caller is checked by `data_path_resolve`, then opened by
walking its resolved folders one at a time with O_NOFOLLOW from a descriptor
of the project's data folder. The check and the walk cannot disagree: a folder
swapped for a symlink between them (scripts run as the same machine account
and may write there) makes the walk fail instead of leaving the folder.
"""

import contextlib
import json
import os
import secrets
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from projects.models import UserProject
from projects.services import project_data_dir, project_folder, user_folder

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_NAME_LENGTH = 255
# Written next to their target and renamed over it; never listed.
TEMP_PREFIX = ".sm-tmp-"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO someone left in the folder must not hang a request.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _named(filename: str) -> dict[str, str]:
    return {"name": repr(filename)}


class DataPathError(ValueError):
    """A data file name that is malformed or leads outside the project's folder."""


def data_file_max_bytes() -> int:
    return int(getattr(settings, "DATA_FILE_MAX_BYTES", DEFAULT_MAX_BYTES))


def data_path_resolve(project: UserProject, filename: str) -> Path:
    """The real path of `filename` inside the project's data folder.

    Symlinks (of the file or of any folder above it) are resolved; the result
    lies strictly inside the folder or DataPathError is raised. The file need
    not exist. Sub-folders ("results/run1.json") are allowed.
    """
    if not filename:
        raise DataPathError(_("The file name is empty."))
    if len(filename) > MAX_NAME_LENGTH:
        raise DataPathError(
            _("The file name %(name)s... is longer than %(max)d characters.")
            % {"name": repr(filename[:40]), "max": MAX_NAME_LENGTH}
        )
    if "\x00" in filename:
        raise DataPathError(
            _("The file name %(name)s contains a NUL character.") % _named(filename)
        )
    if "\\" in filename:
        raise DataPathError(_("The file name %(name)s contains a backslash.") % _named(filename))
    if filename.startswith("/"):
        raise DataPathError(_("The file name %(name)s is an absolute path.") % _named(filename))
    if ".." in PurePosixPath(filename).parts:
        raise DataPathError(
            _("The file name %(name)s contains a '..' component.") % _named(filename)
        )
    base = Path(os.path.realpath(project_data_dir(project)))
    real = Path(os.path.realpath(base / filename))
    if real == base or not real.is_relative_to(base):
        raise DataPathError(
            _("The file name %(name)s leads outside the project's data folder.") % _named(filename)
        )
    return real


def _relative_parts(project: UserProject, filename: str) -> tuple[Path, list[str]]:
    """(the data folder's real path, the resolved name's parts below it)."""
    real = data_path_resolve(project, filename)
    base = Path(os.path.realpath(project_data_dir(project)))
    return base, list(real.relative_to(base).parts)


@contextlib.contextmanager
def _folder_fd(
    base: Path, folders: list[str], filename: str, *, create: bool = False
) -> Iterator[int]:
    """A descriptor of base/folders..., each step refusing a symlink.

    With `create`, missing folders are made (0755). FileNotFoundError when a
    folder is missing otherwise.
    """
    if create:
        base.mkdir(parents=True, exist_ok=True, mode=0o755)
    try:
        fd = os.open(base, _DIR_FLAGS)
    except FileNotFoundError:
        raise FileNotFoundError(filename) from None
    try:
        for part in folders:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                raise FileNotFoundError(filename) from None
            except (NotADirectoryError, OSError) as error:
                # ELOOP: a symlink appeared after the check; ENOTDIR: a file is in the way.
                raise DataPathError(
                    _(
                        "The file name %(name)s does not lead to a folder of the project "
                        "(%(error)s)."
                    )
                    % {"name": repr(filename), "error": error.strerror}
                ) from None
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _open_regular(dir_fd: int, leaf: str, filename: str) -> tuple[int, os.stat_result]:
    """An O_NOFOLLOW read descriptor of a regular file, with its stat."""
    try:
        fd = os.open(leaf, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise FileNotFoundError(filename) from None
    except OSError as error:
        raise DataPathError(
            _("The file %(name)s cannot be opened (%(error)s).")
            % {"name": repr(filename), "error": error.strerror}
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise FileNotFoundError(filename)
    os.set_blocking(fd, True)
    return fd, info


def _entry(name: str, info: os.stat_result) -> dict[str, Any]:
    return {
        "name": name,
        "size": info.st_size,
        "modified": datetime.fromtimestamp(info.st_mtime, tz=UTC),
    }


def data_files_list(project: UserProject) -> list[dict[str, Any]]:
    """Every regular file under the data folder, by name: [{name, size, modified}].

    Names are relative, with "/" between folders. Symlinked folders are not
    entered; a symlinked file is listed only when it resolves inside the folder.
    """
    base = Path(os.path.realpath(project_data_dir(project)))
    if not base.is_dir():
        return []
    found = []
    for folder, _dirs, files in os.walk(base, followlinks=False):
        for name in files:
            if name.startswith(TEMP_PREFIX):
                continue
            path = Path(folder) / name
            try:
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    target = Path(os.path.realpath(path))
                    if target == base or not target.is_relative_to(base):
                        continue
                    info = target.stat()
            except OSError:  # removed while we walked
                continue
            if stat.S_ISREG(info.st_mode):
                found.append(_entry(path.relative_to(base).as_posix(), info))
    return sorted(found, key=lambda entry: entry["name"])


def project_data_usage(project: UserProject) -> tuple[int, int]:
    """(number of files, total bytes) of the files `data_files_list` lists."""
    files = data_files_list(project)
    return len(files), sum(entry["size"] for entry in files)


def data_file_open(project: UserProject, filename: str) -> tuple[BinaryIO, os.stat_result]:
    """An open binary file (the caller closes it) and its stat.

    FileNotFoundError when there is no such regular file; DataPathError for a bad name.
    """
    base, parts = _relative_parts(project, filename)
    with _folder_fd(base, parts[:-1], filename) as dir_fd:
        fd, info = _open_regular(dir_fd, parts[-1], filename)
    return os.fdopen(fd, "rb"), info


def data_file_read(project: UserProject, filename: str) -> bytes:
    handle, _info = data_file_open(project, filename)
    with handle:
        return handle.read()


def data_content_check(filename: str, content: bytes) -> None:
    """ValueError when `content` may not be stored as `filename`: too big, or
    (for .json names) not UTF-8 JSON."""
    limit = data_file_max_bytes()
    if len(content) > limit:
        raise ValueError(
            _("The file %(name)s is %(size)d bytes; the limit is %(limit)d bytes.")
            % {"name": repr(filename), "size": len(content), "limit": limit}
        )
    if filename.lower().endswith(".json"):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                _("The file %(name)s is not valid UTF-8 (byte %(byte)d): not saved.")
                % {"name": repr(filename), "byte": error.start}
            ) from None
        try:
            json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(
                _(
                    "The file %(name)s is not valid JSON: %(error)s at line %(line)d, "
                    "column %(column)d. Not saved."
                )
                % {
                    "name": repr(filename),
                    "error": error.msg,
                    "line": error.lineno,
                    "column": error.colno,
                }
            ) from None


def data_file_write(project: UserProject, filename: str, content: bytes) -> dict[str, Any]:
    """Store `content` as `filename`, creating folders; returns {name, size, modified}.

    Atomic: a temporary file in the same folder is written, fsynced and renamed
    over the target, so readers and concurrent writers only ever see one whole
    version. Nothing is written when the content is refused (ValueError).
    """
    data_content_check(filename, content)
    base, parts = _relative_parts(project, filename)
    leaf = parts[-1]
    with _folder_fd(base, parts[:-1], filename, create=True) as dir_fd:
        temp = f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        fd = os.open(
            temp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o644,
            dir_fd=dir_fd,
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            # rename() replaces the name itself, never following a symlink there.
            os.replace(temp, leaf, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except IsADirectoryError:
            os.unlink(temp, dir_fd=dir_fd)
            raise DataPathError(_("%(name)s is a folder, not a file.") % _named(filename)) from None
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
        info = os.stat(leaf, dir_fd=dir_fd, follow_symlinks=False)
    return _entry("/".join(parts), info)


def data_file_delete(project: UserProject, filename: str) -> None:
    """Remove one file (a symlink inside the folder is removed itself, not its
    target). FileNotFoundError when missing; DataPathError for a folder or a bad name."""
    data_path_resolve(project, filename)  # refuses a bad name or a link leading out
    lexical = PurePosixPath(filename)
    base = Path(os.path.realpath(project_data_dir(project)))
    folders: list[str] = []
    if lexical.parent.parts:
        # The folders are resolved; the last name is unlinked as given.
        folder = data_path_resolve(project, str(lexical.parent))
        folders = list(folder.relative_to(base).parts)
    with _folder_fd(base, folders, filename) as dir_fd:
        try:
            info = os.stat(lexical.name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            raise FileNotFoundError(filename) from None
        if stat.S_ISDIR(info.st_mode):
            raise DataPathError(_("%(name)s is a folder, not a file.") % _named(filename))
        os.unlink(lexical.name, dir_fd=dir_fd)


def project_backup_zip(project: UserProject) -> Path:
    """A zip of the project's data folder, written to
    <BASE_DATA_PATH>/backups/user_<user>-<id>_project_<name>-<id>_<YYYYmmdd_HHMMSS>.zip
    (named as the folders are, so no two users' or projects' backups share a name).

    Only regular files are stored; symlinks are skipped, never followed. The
    zip is written to a temporary file and linked into place, so a reader never
    sees half a zip and two backups in the same second do not overwrite each other.
    """
    base = Path(os.path.realpath(project_data_dir(project)))
    backups = Path(settings.BASE_DATA_PATH) / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    stamp = timezone.localtime().strftime("%Y%m%d_%H%M%S")
    stem = f"user_{user_folder(project.user)}_project_{project_folder(project)}_{stamp}"
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, renamed or removed
        dir=backups, prefix=TEMP_PREFIX, suffix=".zip", delete=False
    )
    temp = Path(handle.name)
    try:
        with handle:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
                for name in _regular_files(base):
                    zip_add_file(archive, base, name)
            handle.flush()
            os.fsync(handle.fileno())
        for attempt in range(1, 1000):
            target = backups / (f"{stem}.zip" if attempt == 1 else f"{stem}_{attempt}.zip")
            try:
                os.link(temp, target)  # unlike rename, never replaces an existing backup
            except FileExistsError:
                continue
            return target
        raise FileExistsError(backups / f"{stem}.zip")
    finally:
        temp.unlink(missing_ok=True)


def _regular_files(base: Path) -> Iterator[str]:
    if not base.is_dir():
        return
    for folder, _dirs, files in os.walk(base, followlinks=False):
        for name in sorted(files):
            if not name.startswith(TEMP_PREFIX):
                yield (Path(folder) / name).relative_to(base).as_posix()


def zip_add_file(
    archive: zipfile.ZipFile, base: Path, name: str, arcname: str | None = None
) -> None:
    """Add the regular file `name` (relative to `base`) to `archive` as `arcname`
    (default: `name`), never following a symlink; a file gone or replaced by
    something else since it was listed is left out."""
    parts = name.split("/")
    try:
        with _folder_fd(base, parts[:-1], name) as dir_fd:
            fd, info = _open_regular(dir_fd, parts[-1], name)
    except (OSError, DataPathError):  # a symlink, a FIFO, or gone since the walk
        return
    with os.fdopen(fd, "rb") as source:
        entry = zipfile.ZipInfo(arcname or name, date_time=_zip_time(info.st_mtime))
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = (stat.S_IFREG | 0o644) << 16
        with archive.open(entry, "w", force_zip64=True) as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)


def _zip_time(mtime: float) -> tuple[int, int, int, int, int, int]:
    moment = datetime.fromtimestamp(max(mtime, 315532800))  # zip cannot store before 1980
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
