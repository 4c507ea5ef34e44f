"""Administrators managing users: create, update, delete, and each user's
project data (usage, backup, reset).

The guards live here so the API and the Django admin refuse the same things:
an administrator never takes away their own access, and the last active
administrator is always kept.
"""

import contextlib
import logging
import os
import shutil
import stat
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.levels import Level
from accounts.models import AuditEvent, Theme, User
from accounts.services import audit_record, user_changes_audit, user_snapshot
from execution.models import ScriptProcess
from execution.services import LIVE, execution_finalize, execution_stop, runner_alive
from projects.data_files import TEMP_PREFIX, zip_add_file
from projects.models import UserProject
from projects.services import (
    folder_name,
    group_folder,
    project_data_dir,
    project_data_dir_ensure,
    user_folder,
    user_logs_dir,
)
from projects.services_folders import user_logs_rename

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = (
    "username",
    "email",
    "user_level",
    "preferred_language",
    "preferred_theme",
    "is_active",
)


@dataclass
class UserChangeRefused(Exception):
    """A refused change. `message` is safe to show; `status` is the HTTP status
    to answer with (400: never allowed, 409: not in the current state)."""

    message: str
    status: int = 409


# --- Reads ---------------------------------------------------------------------


def users_filter(
    *, level: str | None = None, active: bool | None = None, text: str | None = None
) -> QuerySet[User]:
    """Users by username, narrowed by level, activity and a username/email fragment."""
    users = User.objects.all()
    if level:
        users = users.filter(user_level=level)
    if active is not None:
        users = users.filter(is_active=active)
    if text and text.strip():
        text = text.strip()
        users = users.filter(Q(username__icontains=text) | Q(email__icontains=text))
    return users.order_by("username", "id")


DirState = Literal["folder", "missing", "link", "unsafe"]


def data_dir_state(project: UserProject) -> tuple[Path, DirState]:
    """The project's data folder and what is there: a real `folder`, nothing
    (`missing`), a symlink in its place (`link`), or anything else: a file
    there, or a symlink or file among the folders above it (`unsafe`: nothing
    may be read or removed through it, since that would happen somewhere else)."""
    root = Path(settings.BASE_DATA_PATH) / "script_groups"
    path = project_data_dir(project)
    current = root
    parts = path.relative_to(root).parts
    for depth, part in enumerate(parts, start=1):
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return path, "missing"
        if not stat.S_ISDIR(info.st_mode):
            leaf_link = depth == len(parts) and stat.S_ISLNK(info.st_mode)
            return path, "link" if leaf_link else "unsafe"
    return path, "folder"


def folder_usage(path: Path) -> tuple[int, int]:
    """(bytes, regular files) under a real folder; symlinks are neither followed
    nor counted. Call only for a folder whose state is `folder`."""
    size = files = 0
    pending = [path]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            size += entry.stat(follow_symlinks=False).st_size
                            files += 1
                    except OSError:  # removed while we walked
                        continue
        except OSError:
            continue
    return size, files


def project_usage(project: UserProject) -> tuple[int, int]:
    path, state = data_dir_state(project)
    return folder_usage(path) if state == "folder" else (0, 0)


def user_projects_usage(*, user: User) -> dict[str, Any]:
    """The user's projects with their data usage, in two queries whatever their number:
    `{"projects": [{id, group_id, group_name, group_directory, name, is_default,
    created_at, last_accessed, data_bytes, file_count}], "total_bytes", "total_files"}`."""
    rows = []
    for project in UserProject.objects.filter(user=user).select_related("group", "user"):
        size, files = project_usage(project)
        rows.append(
            {
                "id": project.pk,
                "group_id": project.group_id,
                "group_name": project.group.name,
                "group_directory": project.group.directory_name,
                "name": project.name,
                "is_default": project.is_default,
                "created_at": project.created_at,
                "last_accessed": project.last_accessed,
                "data_bytes": size,
                "file_count": files,
            }
        )
    return {
        "projects": rows,
        "total_bytes": sum(row["data_bytes"] for row in rows),
        "total_files": sum(row["file_count"] for row in rows),
    }


def user_live_processes(*, user: User) -> QuerySet[ScriptProcess]:
    return ScriptProcess.objects.filter(user=user, status__in=LIVE)


def user_removal_refusal(
    *, user: User, actor: User | None, action: str
) -> UserChangeRefused | None:
    """Why `actor` may not take `user`'s administrator access away (delete,
    deactivate or demote), or None. `action` is "delete", "deactivate" or "demote".
    Read without locks: use it to hide buttons; the writes check again under a lock."""
    if actor is not None and actor.pk == user.pk:
        messages = {
            "delete": _("You cannot delete your own account."),
            "deactivate": _("You cannot deactivate your own account."),
            "demote": _("You cannot remove your own administrator level."),
        }
        return UserChangeRefused(messages[action], status=400)
    if user.user_level == Level.ADMIN and user.is_active:
        others = User.objects.filter(user_level=Level.ADMIN, is_active=True).exclude(pk=user.pk)
        if not others.exists():
            return UserChangeRefused(
                _(
                    "%(username)s is the last active administrator: make another user an "
                    "active administrator first."
                )
                % {"username": user.username}
            )
    return None


def _removal_guard(*, user: User, actor: User | None, action: str) -> None:
    """user_removal_refusal under a lock on the administrators' rows, inside the
    caller's transaction: two admins demoting each other at once cannot both succeed."""
    current = User.objects.select_for_update().get(pk=user.pk)
    if current.user_level == Level.ADMIN and current.is_active:
        list(
            User.objects.select_for_update()
            .filter(user_level=Level.ADMIN, is_active=True)
            .values_list("pk", flat=True)
        )
    refusal = user_removal_refusal(user=current, actor=actor, action=action)
    if refusal is not None:
        raise refusal


# --- Create and update ------------------------------------------------------------


def _add_error(errors: dict[str, list[str]], field: str, message: str) -> None:
    messages = errors.setdefault(field, [])
    if message not in messages:
        messages.append(message)


def user_validate(user: User, *, password: str | None) -> None:
    """Raise ValidationError naming every bad field: the model's own checks,
    usernames and emails unique regardless of case, and Django's password
    validators (`password` None: unchanged)."""
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"], validate_constraints=False)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            for message in messages:
                _add_error(errors, field, message)
    others = User.objects.exclude(pk=user.pk) if user.pk else User.objects.all()
    if user.username and others.filter(username__iexact=user.username).exists():
        _add_error(errors, "username", _("A user with that username already exists."))
    if user.email and others.filter(email__iexact=user.email).exists():
        _add_error(errors, "email", _("A user with that email address already exists."))
    if password is not None:
        if not password:
            _add_error(errors, "password", _("Give a password."))
        else:
            try:
                validate_password(password, user)
            except ValidationError as error:
                for message in error.messages:
                    _add_error(errors, "password", message)
    if errors:
        raise ValidationError(errors)


def _normalised(field: str, value: Any) -> Any:
    if field == "username":
        return (value or "").strip()
    if field == "email":
        return (value or "").strip().lower()
    return value


def user_create(
    *,
    request: HttpRequest | None,
    username: str,
    email: str,
    password: str,
    user_level: str = Level.VIEWER,
    preferred_language: str | None = None,
    preferred_theme: str | None = None,
    is_active: bool = True,
) -> User:
    """Create a user after checking every field; audited USER_CREATED.
    Raises ValidationError naming each bad field; nothing is saved then."""
    user = User(
        username=_normalised("username", username),
        email=_normalised("email", email),
        user_level=user_level,
        preferred_language=preferred_language or settings.LANGUAGE_CODE,
        preferred_theme=preferred_theme or Theme.LIGHT,
        is_active=is_active,
    )
    user_validate(user, password=password)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        user_validate(user, password=None)  # names what a concurrent request just took
        raise
    user_changes_audit(request=request, user=user, before=None)
    return user


def _data_moves(user: User, new_username: str) -> list[tuple[Path, Path]]:
    """(old, new) data folders of each project whose path changes with the name."""
    moves = []
    renamed = User(pk=user.pk, username=new_username)
    for project in UserProject.objects.filter(user=user).select_related("group", "user"):
        old, state = data_dir_state(project)
        project.user = renamed
        new = project_data_dir(project)
        if old == new or state == "missing":
            continue
        if state == "unsafe":
            raise UserChangeRefused(
                _("The data folder of project %(project)s is not a plain folder; rename refused.")
                % {"project": project.name}
            )
        if os.path.lexists(new):
            raise ValidationError(
                {"username": _("A data folder already exists for this username.")}
            )
        moves.append((old, new))
    old_logs, new_logs = user_logs_dir(user), user_logs_dir(renamed)
    if old_logs != new_logs and os.path.isdir(old_logs) and os.path.lexists(new_logs):
        raise ValidationError({"username": _("A log folder already exists for this username.")})
    return moves


def _folders_move(moves: list[tuple[Path, Path]]) -> None:
    """Rename each folder; on a failure, put back the ones already moved."""
    done: list[tuple[Path, Path]] = []
    try:
        for old, new in moves:
            new.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            os.rename(old, new)
            done.append((old, new))
    except OSError:
        for old, new in reversed(done):
            with contextlib.suppress(OSError):
                os.rename(new, old)
        raise
    for old, _new in moves:
        with contextlib.suppress(OSError):  # still holds another project: keep it
            old.parent.rmdir()


def _user_folders_move(*, user: User, old_username: str, moves: list[tuple[Path, Path]]) -> None:
    """The renamed user's project folders and log folder follow the new name
    (only the readable part of `<name>-<id>` changes), with the log paths
    stored for their runs."""
    old_logs = folder_name(old_username, user.pk)
    logs = user_logs_rename(user_id=user.pk, old_folder=old_logs, new_folder=user_folder(user))
    try:
        _folders_move(moves)
    except OSError:
        if logs is not None:
            os.rename(logs, logs.with_name(old_logs))
        raise


def user_rename_check(*, user: User, username: str) -> None:
    """Raise what `user_update` would raise for renaming `user` (as saved) to
    `username`: ValidationError (taken, malformed, a folder in the way) or
    UserChangeRefused (scripts running). For forms that must refuse before
    saving; `user_update` checks again when it saves."""
    candidate = User.objects.get(pk=user.pk)
    candidate.username = _normalised("username", username)
    if candidate.username == user.username:
        return
    try:
        user_validate(candidate, password=None)
    except ValidationError as error:
        if "username" in error.message_dict:
            raise ValidationError({"username": error.message_dict["username"]}) from None
    if user_live_processes(user=user).exists():
        raise UserChangeRefused(
            _("%(username)s has scripts running; stop them before renaming.")
            % {"username": user.username}
        )
    _data_moves(user, candidate.username)


def user_update(
    *,
    user: User,
    request: HttpRequest | None,
    changes: dict[str, Any],
    password: str | None = None,
) -> User:
    """Change the given fields (see EDITABLE_FIELDS) and, when given, the password.

    Audited as the Django admin does (USER_LEVEL_CHANGED, USER_ACTIVATED /
    USER_DEACTIVATED, USER_UPDATED for the rest) plus PASSWORD_RESET. Raises
    ValidationError naming each bad field, or UserChangeRefused when the change
    would take away the actor's own admin access or the last active admin's, or
    renames a user whose scripts are running (their data folders move with the name).
    """
    actor = getattr(request, "user", None)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    before = user_snapshot(user)
    old_username = user.username
    for field, value in changes.items():
        setattr(user, field, _normalised(field, value))
    user_validate(user, password=password)
    renamed = user.username != old_username
    moves = _data_moves(user, user.username) if renamed else []
    loses_admin = before["user_level"] == Level.ADMIN and before["is_active"]
    loses_admin = loses_admin and not (user.user_level == Level.ADMIN and user.is_active)
    if password:
        user.set_password(password)
    with transaction.atomic():
        if loses_admin:
            action = "demote" if user.user_level != Level.ADMIN else "deactivate"
            _removal_guard(user=user, actor=actor, action=action)
        if renamed and user_live_processes(user=user).exists():
            raise UserChangeRefused(
                _("%(username)s has scripts running; stop them before renaming.")
                % {"username": old_username}
            )
        try:
            user.save()
        except IntegrityError:
            user_validate(user, password=None)
            raise
        # Inside the transaction: a folder that cannot move undoes the rename.
        if renamed:
            _user_folders_move(user=user, old_username=old_username, moves=moves)
    user_changes_audit(request=request, user=user, before=before)
    if password:
        audit_record(
            action=AuditEvent.Action.PASSWORD_RESET, actor=actor, request=request, target=user
        )
        if actor is not None and actor.pk == user.pk and request is not None:
            update_session_auth_hash(request, user)
    return user


# --- Backups, reset and delete ------------------------------------------------------


class BackupFailed(Exception):
    """The backup could not be written; nothing was removed."""


def _regular_files(base: Path) -> list[str]:
    found = []
    for folder, _dirs, files in os.walk(base, followlinks=False):
        for name in sorted(files):
            if not name.startswith(TEMP_PREFIX):
                found.append((Path(folder) / name).relative_to(base).as_posix())
    return found


def user_backup_zip(*, user: User, projects: list[UserProject], reason: str) -> Path:
    """A zip of every project folder of the user, as `<group>/<project>/<file>`,
    written to <BASE_DATA_PATH>/backups/user_<user>-<id>_<reason>_<YYYYmmdd_HHMMSS>.zip.

    Only regular files inside real folders are stored; symlinks are never
    followed. The zip is written to a temporary file and linked into place, so
    a reader never sees half a zip and an existing backup is never replaced.
    Raises BackupFailed.
    """
    backups = Path(settings.BASE_DATA_PATH) / "backups"
    stamp = timezone.localtime().strftime("%Y%m%d_%H%M%S")
    stem = f"user_{user_folder(user)}_{reason}_{stamp}"
    try:
        backups.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, linked or removed
            dir=backups, prefix=TEMP_PREFIX, suffix=".zip", delete=False
        )
    except OSError as error:
        raise BackupFailed(str(error)) from error
    temp = Path(handle.name)
    try:
        with handle:
            with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
                for project in projects:
                    path, state = data_dir_state(project)
                    if state != "folder":
                        continue
                    prefix = f"{group_folder(project.group)}/{path.name}"
                    for name in _regular_files(path):
                        zip_add_file(archive, path, name, f"{prefix}/{name}")
            handle.flush()
            os.fsync(handle.fileno())
        for attempt in range(1, 1000):
            target = backups / (f"{stem}.zip" if attempt == 1 else f"{stem}_{attempt}.zip")
            try:
                os.link(temp, target)
            except FileExistsError:
                continue
            return target
        raise FileExistsError(backups / f"{stem}.zip")
    except OSError as error:
        raise BackupFailed(str(error)) from error
    finally:
        temp.unlink(missing_ok=True)


def _folder_empty(path: Path) -> None:
    """Remove everything inside a real folder, keeping the folder itself.
    rmtree never follows a symlink; a symlink entry is unlinked itself."""
    with os.scandir(path) as entries:
        found = list(entries)
    for entry in found:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)


def user_data_reset(*, user: User, request: HttpRequest | None) -> dict[str, Any]:
    """Back up every project folder of the user, then empty them (the projects
    stay, with empty folders). Audited USER_DATA_RESET with the backup's name.

    Returns {"backup": name, "projects": [{id, group_directory, name,
    files_removed, bytes_removed, skipped}], "files_removed", "bytes_removed"}.
    Raises UserChangeRefused while the user has scripts running, BackupFailed
    when the backup cannot be written (nothing is removed then).
    """
    actor = getattr(request, "user", None)
    # A run starting between this check and the emptying would find its files
    # gone; holding the database's write lock over the disk work would stall
    # every other writer instead, so the window is accepted.
    if user_live_processes(user=user).exists():
        raise UserChangeRefused(
            _("%(username)s has scripts running; stop them before resetting the data.")
            % {"username": user.username}
        )
    projects = list(UserProject.objects.filter(user=user).select_related("group", "user"))
    backup = user_backup_zip(user=user, projects=projects, reason="reset")
    report = []
    for project in projects:
        path, state = data_dir_state(project)
        size, files = folder_usage(path) if state == "folder" else (0, 0)
        if state == "folder":
            _folder_empty(path)
        elif state == "link":
            path.unlink()
        if state != "unsafe":
            project_data_dir_ensure(project)
        else:
            logger.warning("Reset of %s skipped %s: not a plain folder", user, path)
        report.append(
            {
                "id": project.pk,
                "group_directory": project.group.directory_name,
                "name": project.name,
                "files_removed": files,
                "bytes_removed": size,
                "skipped": state == "unsafe",
            }
        )
    result = {
        "backup": backup.name,
        "projects": report,
        "files_removed": sum(row["files_removed"] for row in report),
        "bytes_removed": sum(row["bytes_removed"] for row in report),
    }
    audit_record(
        action=AuditEvent.Action.USER_DATA_RESET,
        actor=actor,
        request=request,
        target=user,
        details={
            "backup": backup.name,
            "projects": len(report),
            "files_removed": result["files_removed"],
            "bytes_removed": result["bytes_removed"],
        },
    )
    return result


def user_executions_stop(*, user: User, actor: User | None) -> int:
    """Stop every running script of the user (interfaces included) and wait
    for them to end. Returns how many were stopped; UserChangeRefused when one
    outlived the grace period."""
    processes = list(user_live_processes(user=user).select_related("execution", "script"))
    for process in processes:
        execution_stop(process=process, reason=ScriptProcess.StopReason.ADMIN, by=actor, wait=False)
    # The runners escalate to SIGKILL after the grace period: wait for that.
    deadline = time.monotonic() + settings.STOP_GRACE_SECONDS + 5
    while time.monotonic() < deadline and any(runner_alive(p) for p in processes):
        time.sleep(0.05)
    for process in processes:
        execution_finalize(process=ScriptProcess.objects.get(pk=process.pk))
    if user_live_processes(user=user).exists():
        raise UserChangeRefused(
            _("Some of %(username)s's scripts could not be stopped; try again.")
            % {"username": user.username}
        )
    return len(processes)


def user_delete(*, user: User, request: HttpRequest | None) -> dict[str, Any]:
    """Delete a user: deactivate them (no new runs, sessions end), stop their
    running scripts, back up all their project folders, delete the account
    (their execution logs stay, with the username kept as text) and remove the
    data folders. Audited USER_DELETED with the backup's name.

    Returns {"backup", "stopped", "folders_removed"}. Raises UserChangeRefused
    (self-delete: 400; last active admin, scripts that would not stop: 409) or
    BackupFailed; the account is left as it was then.
    """
    actor = getattr(request, "user", None)
    with transaction.atomic():
        _removal_guard(user=user, actor=actor, action="delete")
        was_active = User.objects.filter(pk=user.pk, is_active=True).update(is_active=False)
    try:
        stopped = user_executions_stop(user=user, actor=actor)
        projects = list(UserProject.objects.filter(user=user).select_related("group", "user"))
        backup = user_backup_zip(user=user, projects=projects, reason="delete")
    except BaseException:
        if was_active:
            User.objects.filter(pk=user.pk).update(is_active=True)
        raise
    folders = [data_dir_state(project) for project in projects]
    with transaction.atomic():
        audit_record(
            action=AuditEvent.Action.USER_DELETED,
            actor=actor,
            request=request,
            target=user,
            details={"backup": backup.name, "projects": len(projects), "stopped": stopped},
        )
        user.delete()
    removed = 0
    for path, state in folders:
        if state == "folder":
            shutil.rmtree(path, ignore_errors=True)
        elif state == "link":
            with contextlib.suppress(OSError):
                path.unlink()
        else:
            if state == "unsafe":
                logger.warning("Deleting %s left %s: not a plain folder", user, path)
            continue
        removed += 1
        with contextlib.suppress(OSError):  # still holds another of their projects
            path.parent.rmdir()
    return {"backup": backup.name, "stopped": stopped, "folders_removed": removed}
