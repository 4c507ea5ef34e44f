"""Projects and their data folders."""

import os
import re
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from catalog.models import ScriptGroup
from execution.models import ScriptProcess
from projects.models import DEFAULT_PROJECT_NAME, UserProject

SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def path_segment(name: str) -> str:
    """A name made safe as one folder name (no separators, no leading dots).

    Readable but not unique: "op1.", "op1_" and "op1" all give "op1". Never use
    it alone for a folder; `folder_name` adds what makes it unique."""
    cleaned = SAFE_NAME.sub("_", name).strip("._") or "_"
    return cleaned[:100]


def folder_name(name: str, pk: int) -> str:
    """`<readable name>-<primary key>`: the folder of one user, project or group.

    The key holds no "-", so it is exactly what follows the last "-": two rows
    of one table never share a folder, whatever their names. A rename changes
    the readable part only."""
    return f"{path_segment(name)}-{pk}"


def group_folder(group: ScriptGroup) -> str:
    return folder_name(group.directory_name, group.pk)


def user_folder(user) -> str:
    return folder_name(user.username, user.pk)


def project_folder(project: UserProject) -> str:
    return folder_name(project.name, project.pk)


def project_data_dir(project: UserProject) -> Path:
    """data/script_groups/<group>-<id>/<user>-<id>/<project>-<id>/ (not created here)."""
    return (
        Path(settings.BASE_DATA_PATH)
        / "script_groups"
        / group_folder(project.group)
        / user_folder(project.user)
        / project_folder(project)
    )


def user_logs_dir(user) -> Path:
    """LOGS_DIR/executions/<user>-<id>/: the user's execution logs, by day below."""
    return Path(settings.LOGS_DIR) / "executions" / user_folder(user)


def project_runs_live(*, project: UserProject) -> bool:
    """True while a run of the project is starting, running or stopping."""
    live = (
        ScriptProcess.Status.STARTING,
        ScriptProcess.Status.RUNNING,
        ScriptProcess.Status.STOPPING,
    )
    return ScriptProcess.objects.filter(execution__project=project, status__in=live).exists()


def project_data_dir_ensure(project: UserProject) -> Path:
    path = project_data_dir(project)
    # 700, not the specification's data_directory_permissions (755): issue 11
    # makes project data readable by the service account only, which runs the
    # scripts too.
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def project_ensure_default(*, user, group: ScriptGroup) -> UserProject:
    """The user's default project in the group, created on first use."""
    existing = UserProject.objects.filter(user=user, group=group, name=DEFAULT_PROJECT_NAME).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            project, _ = UserProject.objects.get_or_create(
                user=user, group=group, name=DEFAULT_PROJECT_NAME, defaults={"is_default": True}
            )
    except IntegrityError:  # another request created it first
        project = UserProject.objects.get(user=user, group=group, name=DEFAULT_PROJECT_NAME)
    return project


def project_ensure_defaults(
    *, user, groups: Iterable[ScriptGroup], existing: Iterable[UserProject]
) -> bool:
    """Create the default project in each of `groups` that `existing` (the
    user's projects) lacks, in one query. True when any was created."""
    have = {p.group_id for p in existing if p.name == DEFAULT_PROJECT_NAME}
    missing = [
        UserProject(user=user, group=group, name=DEFAULT_PROJECT_NAME, is_default=True)
        for group in groups
        if group.pk not in have
    ]
    if not missing:
        return False
    # ignore_conflicts: another request may create one of them at the same time.
    UserProject.objects.bulk_create(missing, ignore_conflicts=True)
    return True


SESSION_KEY = "active_projects"


def project_active_id(session, group_id: int) -> int | None:
    """The project chosen for the group in this session, if any."""
    return (session.get(SESSION_KEY) or {}).get(str(group_id))


def project_activate(session, group_id: int, project_id: int | None) -> None:
    chosen = dict(session.get(SESSION_KEY) or {})
    if project_id is None:
        chosen.pop(str(group_id), None)
    else:
        chosen[str(group_id)] = project_id
    session[SESSION_KEY] = chosen


def project_for_run(*, request, group: ScriptGroup) -> UserProject:
    """The session's active project in the group, or the user's default one."""
    chosen = project_active_id(request.session, group.pk)
    if chosen is not None:
        project = UserProject.objects.filter(pk=chosen, user=request.user, group=group).first()
        if project is not None:
            return project
    return project_ensure_default(user=request.user, group=group)
