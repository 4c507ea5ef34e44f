"""Moving data and log folders from the old names to the unique ones.

Before, a folder was named `path_segment(name)` alone, so "op1", "op1." and
"op1_" shared one. Now it is `<name>-<id>` (projects.services.folder_name).
`folders_upgrade` moves an installation (or a restored older backup) from the
first layout to the second; `user_logs_rename` keeps a user's log folder and
the paths stored for it in step with a rename.

Both the migration `projects.0002_unique_folder_names` and `restore` call
`folders_upgrade`, with the models of the database they work on. Only columns
the first migration of each app created are read or written, so it also runs
on a restored database whose schema is older than the code.
"""

import contextlib
import logging
import os
import re
import stat
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.apps import apps as global_apps
from django.conf import settings
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from execution.models import ScriptProcess
from execution.services import runner_alive
from projects.services import folder_name

logger = logging.getLogger(__name__)

# The layout `backups` records in an archive's manifest; an archive without
# it holds the old one (1).
FOLDER_LAYOUT = 2
# Where a project folder waits between its old and new names (never a name
# the new layout uses: no "-<id>" at the end).
MOVING_PREFIX = ".sm-moving-project-"
DELETED_USERS_FOLDER = "deleted-users"
LIVE_STATUSES = ("starting", "running", "stopping")
POLL_SECONDS = 0.2


def legacy_segment(name: str) -> str:
    """The old rule, frozen here: what folder `name` had before the layout of
    FOLDER_LAYOUT 2 (projects.services.path_segment may change, this may not)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "_"
    return cleaned[:100]


class FoldersBusy(Exception):
    """Scripts are running with paths under the old names; nothing was moved.
    str() names them, for people."""


@dataclass
class FoldersReport:
    """What folders_upgrade did; `notes` are for the administrator to check."""

    folders_moved: int = 0
    log_files_moved: int = 0
    rows_rewritten: int = 0
    notes: list[str] = field(default_factory=list)


# --- Live runs -------------------------------------------------------------------------------


def _runner_alive(pid: int | None, started: float | None) -> bool:
    return runner_alive(ScriptProcess(runner_pid=pid, runner_started=started))


def folders_live_runs(*, apps: Any = global_apps) -> list[str]:
    """Each run whose runner is alive, as "<script> of <user> (execution <uuid>,
    pid <pid>)". A row still marked live whose runner is gone is not listed:
    nothing writes to its paths any more."""
    process_model = apps.get_model("execution", "ScriptProcess")
    live = process_model.objects.filter(status__in=LIVE_STATUSES).values(
        "runner_pid",
        "runner_started",
        "execution__execution_uuid",
        "execution__script_name",
        "execution__username",
    )
    return [
        _("%(script)s of %(user)s (execution %(uuid)s, pid %(pid)s)")
        % {
            "script": row["execution__script_name"],
            "user": row["execution__username"],
            "uuid": row["execution__execution_uuid"],
            "pid": row["runner_pid"],
        }
        for row in live.order_by("pk")
        if _runner_alive(row["runner_pid"], row["runner_started"])
    ]


def folders_live_runs_wait(
    *, apps: Any = global_apps, seconds: float, say: Callable[[str], None] | None = None
) -> None:
    """Return once no run is alive, waiting up to `seconds` (told to `say`
    once); FoldersBusy naming the runs still alive then."""
    deadline = time.monotonic() + seconds
    told = False
    while True:
        running = folders_live_runs(apps=apps)
        if not running:
            return
        if not told and seconds > 0 and say is not None:
            say(
                _("Waiting up to %(seconds)d s for these runs to end: %(runs)s")
                % {"seconds": seconds, "runs": "; ".join(running)}
            )
            told = True
        if time.monotonic() >= deadline:
            raise FoldersBusy(
                _(
                    "Data and log folders cannot be renamed while scripts run with paths "
                    "under the old names: %(runs)s. Stop them (or wait for them to end) "
                    "and run this again; nothing was moved."
                )
                % {"runs": "; ".join(running)}
            )
        time.sleep(POLL_SECONDS)


# --- Data folders ----------------------------------------------------------------------------


def _plain_folder(root: Path, path: Path) -> str:
    """ "folder" when every component from `root` to `path` is a real folder,
    "missing" when one is absent, "unsafe" when one is a symlink or a file."""
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return "missing"
        if not stat.S_ISDIR(info.st_mode):
            return "unsafe"
    return "folder"


@dataclass
class _Claim:
    project_id: int
    old: Path
    new: Path
    exact: bool
    label: str


def _data_claims(apps: Any, root: Path) -> dict[Path, list[_Claim]]:
    project_model = apps.get_model("projects", "UserProject")
    claims: dict[Path, list[_Claim]] = defaultdict(list)
    rows = project_model.objects.values(
        "pk", "name", "user_id", "user__username", "group_id", "group__directory_name"
    )
    for row in rows.order_by("pk"):
        names = (row["group__directory_name"], row["user__username"], row["name"])
        old = root.joinpath(*(legacy_segment(name) for name in names))
        new = root.joinpath(
            folder_name(names[0], row["group_id"]),
            folder_name(names[1], row["user_id"]),
            folder_name(names[2], row["pk"]),
        )
        exact = all(legacy_segment(name) == name for name in names)
        label = _("project %(project)s of %(user)s in %(group)s") % {
            "project": repr(names[2]),
            "user": repr(names[1]),
            "group": repr(names[0]),
        }
        claims[old].append(_Claim(row["pk"], old, new, exact, label))
    return claims


def _rename(source: Path, target: Path, done: list[tuple[Path, Path]]) -> None:
    os.rename(source, target)
    done.append((source, target))


def _undo(done: list[tuple[Path, Path]]) -> None:
    for source, target in reversed(done):
        with contextlib.suppress(OSError):
            source.parent.mkdir(parents=True, exist_ok=True)
            os.rename(target, source)


def _prune_empty(path: Path, stop: Path) -> None:
    """Remove `path` and its parents up to (not including) `stop` while empty."""
    while path != stop and path.is_relative_to(stop):
        try:
            path.rmdir()
        except OSError:
            return
        path = path.parent


def _folder_make(root: Path, path: Path) -> None:
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        try:
            os.mkdir(current, 0o755)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(current).st_mode):
                raise NotADirectoryError(
                    _("%(path)s is in the way of a data folder: it is not a folder.")
                    % {"path": current}
                ) from None


def _data_folders_move(
    apps: Any, report: FoldersReport, done: list[tuple[Path, Path]]
) -> dict[int, tuple[Path, Path]]:
    """Move each claimed project folder to its new name, appending each rename
    to `done`; returns {project id: (old path, new path)} for every project."""
    root = Path(settings.BASE_DATA_PATH) / "script_groups"
    claims = _data_claims(apps, root)
    paths = {c.project_id: (c.old, c.new) for group in claims.values() for c in group}
    if not root.is_dir():
        return paths
    chosen: list[_Claim] = []
    for old, claimants in claims.items():
        state = _plain_folder(root, old)
        if state == "missing":
            continue
        if state == "unsafe":
            report.notes.append(
                _("%(path)s was left in place: it or a folder above it is not a plain folder.")
                % {"path": old}
            )
            continue
        # Several projects shared this folder: their files cannot be told apart.
        # The one whose exact names made it keeps them (else the oldest).
        owner = next((c for c in claimants if c.exact), claimants[0])
        chosen.append(owner)
        for other in claimants:
            if other is not owner:
                report.notes.append(
                    _(
                        "%(old)s was shared by %(owner)s and %(other)s: its files now are "
                        "in %(new)s, with %(owner)s; %(other)s starts with an empty "
                        "folder. Check the files and move those of %(other)s by hand."
                    )
                    % {"old": old, "owner": owner.label, "other": other.label, "new": owner.new}
                )
    # Two steps: a new name may be the old name of another project's folder.
    waiting = []
    for claim in chosen:
        temp = root / f"{MOVING_PREFIX}{claim.project_id}"
        if os.path.lexists(temp):
            raise FileExistsError(
                _("%(path)s is left from an interrupted move: put it back by hand first.")
                % {"path": temp}
            )
        _rename(claim.old, temp, done)
        waiting.append((claim, temp))
    for claim, _temp in waiting:
        _prune_empty(claim.old.parent, root)
    for claim, temp in waiting:
        _folder_make(root, claim.new.parent)
        if os.path.lexists(claim.new):
            aside = claim.new.with_name(f"{claim.new.name}.unclaimed")
            _rename(claim.new, aside, done)
            report.notes.append(
                _("%(path)s was in the way of %(label)s and was renamed %(aside)s.")
                % {"path": claim.new, "label": claim.label, "aside": aside.name}
            )
        _rename(temp, claim.new, done)
        report.folders_moved += 1
    return paths


# --- Log files -------------------------------------------------------------------------------


def _log_folder(row: dict[str, Any]) -> str:
    if row["user_id"] is None:  # the user was deleted; the history stays readable
        return f"{DELETED_USERS_FOLDER}/{legacy_segment(row['username'])}"
    return folder_name(row["user__username"], row["user_id"])


def _log_files_move(apps: Any, report: FoldersReport, done: list[tuple[Path, Path]]) -> None:
    """Move each execution's files (`execution_<uuid>.*`, unique by name) into
    its user's new folder and rewrite the paths stored for it."""
    log_model = apps.get_model("logs", "ExecutionLog")
    process_model = apps.get_model("execution", "ScriptProcess")
    logs_root = Path(settings.LOGS_DIR)
    rows = log_model.objects.exclude(stdout_path="", stderr_path="").values(
        "pk",
        "execution_uuid",
        "user_id",
        "user__username",
        "username",
        "stdout_path",
        "stderr_path",
    )
    emptied: set[Path] = set()
    # A list, not an iterator: the loop updates the table being read.
    for row in list(rows.order_by("pk")):
        stored = PurePosixPath(row["stdout_path"] or row["stderr_path"])
        if len(stored.parts) != 4 or stored.parts[0] != "executions":
            continue  # not where runs put their files: leave it alone
        old_rel = stored.parent
        new_rel = PurePosixPath("executions", _log_folder(row), stored.parts[2])
        if new_rel == old_rel:
            continue
        old_abs, new_abs = logs_root / old_rel, logs_root / new_rel
        if old_abs.is_dir() and not old_abs.is_symlink():
            files = sorted(old_abs.glob(f"execution_{row['execution_uuid']}.*"))
            if files:
                new_abs.mkdir(parents=True, exist_ok=True)
            for path in files:
                target = new_abs / path.name
                if os.path.lexists(target):
                    report.notes.append(
                        _("%(path)s was left in place: %(target)s already exists.")
                        % {"path": path, "target": target}
                    )
                    continue
                _rename(path, target, done)
                report.log_files_moved += 1
            emptied.add(old_abs)
        changes = {}
        for column in ("stdout_path", "stderr_path"):
            value = PurePosixPath(row[column]) if row[column] else None
            if value is not None and value.parent == old_rel:
                changes[column] = str(new_rel / value.name)
        log_model.objects.filter(pk=row["pk"]).update(**changes)
        report.rows_rewritten += 1
        for process in process_model.objects.filter(execution_id=row["pk"]).values(
            "pk", "exit_file"
        ):
            exit_file = Path(process["exit_file"])
            if exit_file.parent == old_abs:
                process_model.objects.filter(pk=process["pk"]).update(
                    exit_file=str(new_abs / exit_file.name)
                )
    for folder in emptied:
        _prune_empty(folder, logs_root / "executions")


def _parameters_rewrite(
    apps: Any, paths: dict[int, tuple[Path, Path]], report: FoldersReport
) -> None:
    """Parameter values that name a path in a project's old folder name the new one."""
    log_model = apps.get_model("logs", "ExecutionLog")
    rows = log_model.objects.filter(project_id__in=list(paths)).values(
        "pk", "project_id", "parameters"
    )
    for row in list(rows):
        values = row["parameters"]
        if not isinstance(values, dict):
            continue
        old, new = (str(path) for path in paths[row["project_id"]])
        changed = {
            name: new + value[len(old) :]
            for name, value in values.items()
            if isinstance(value, str) and (value == old or value.startswith(old + "/"))
        }
        if changed:
            log_model.objects.filter(pk=row["pk"]).update(parameters={**values, **changed})
            report.rows_rewritten += 1


# --- The whole move --------------------------------------------------------------------------


def folders_upgrade(
    *,
    apps: Any = global_apps,
    wait_seconds: float | None = None,
    say: Callable[[str], None] | None = None,
) -> FoldersReport:
    """Move every project folder and execution log file from the old names to
    `<name>-<id>` and rewrite every path stored for them (log and exit file
    paths, parameter values naming a data folder). Run it in a transaction:
    the rows change with the files, and a failure puts the files back.

    Waits up to `wait_seconds` (DATA_FOLDERS_MIGRATION_WAIT_SECONDS) for live
    runs to end, then raises FoldersBusy naming them. Projects that shared one
    folder under the old names are reported in `notes` (and to `say`).
    """
    if wait_seconds is None:
        wait_seconds = settings.DATA_FOLDERS_MIGRATION_WAIT_SECONDS
    folders_live_runs_wait(apps=apps, seconds=wait_seconds, say=say)
    report = FoldersReport()
    done: list[tuple[Path, Path]] = []
    try:
        paths = _data_folders_move(apps, report, done)
        _log_files_move(apps, report, done)
        _parameters_rewrite(apps, paths, report)
    except BaseException:
        _undo(done)
        raise
    summary = _(
        "Unique folder names: %(folders)d project folders and %(files)d log files moved, "
        "%(rows)d stored paths rewritten."
    ) % {
        "folders": report.folders_moved,
        "files": report.log_files_moved,
        "rows": report.rows_rewritten,
    }
    changed = report.folders_moved or report.log_files_moved or report.rows_rewritten
    for line in [summary, *report.notes] if changed or report.notes else []:
        logger.warning("%s", line)
        if say is not None:
            say(line)
    return report


# --- Renames ---------------------------------------------------------------------------------


def user_logs_rename(*, user_id: int, old_folder: str, new_folder: str) -> Path | None:
    """Rename a user's log folder `executions/<old_folder>` to `<new_folder>` and
    rewrite the log and exit file paths stored under it. Call it inside the
    rename's transaction, with no run of the user live. Returns the new folder
    (None when the user had none)."""
    log_model = global_apps.get_model("logs", "ExecutionLog")
    process_model = global_apps.get_model("execution", "ScriptProcess")
    executions = Path(settings.LOGS_DIR) / "executions"
    old, new = executions / old_folder, executions / new_folder
    if old == new or not old.is_dir() or old.is_symlink():
        return None
    if os.path.lexists(new):
        raise FileExistsError(new)
    os.rename(old, new)
    for column in ("stdout_path", "stderr_path"):
        prefix = f"executions/{old_folder}/"
        log_model.objects.filter(user_id=user_id, **{f"{column}__startswith": prefix}).update(
            **{column: Concat(Value(f"executions/{new_folder}/"), Substr(column, len(prefix) + 1))}
        )
    prefix = f"{old}/"
    process_model.objects.filter(execution__user_id=user_id, exit_file__startswith=prefix).update(
        exit_file=Concat(Value(f"{new}/"), Substr("exit_file", len(prefix) + 1))
    )
    return new
