"""Reads of projects: always the signed-in user's own."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import QuerySet

from catalog.models import ScriptGroup
from projects.data_files import project_data_usage
from projects.models import DEFAULT_PROJECT_NAME, UserProject
from projects.services import project_active_id


@dataclass
class ProjectRow:
    project: UserProject
    is_active: bool
    file_count: int
    data_bytes: int


@dataclass
class GroupProjects:
    group: ScriptGroup
    rows: list[ProjectRow] = field(default_factory=list)


def projects_of(*, user) -> QuerySet[UserProject]:
    """Every project of the user, with its group and user joined (the data
    folder's path needs both)."""
    return UserProject.objects.filter(user=user).select_related("group", "user")


def project_get_own(*, user, project_id: int) -> UserProject | None:
    """The user's project with this id, or None (missing, or someone else's)."""
    return projects_of(user=user).filter(pk=project_id).first()


def projects_by_group(
    *, groups: Iterable[ScriptGroup], projects: Iterable[UserProject], session: SessionBase
) -> list[GroupProjects]:
    """`projects` sorted into `groups` (in the groups' order; projects of other
    groups are left out), each group's default first then by name. The active
    one is the session's choice in that group, or the default when the choice
    is not among them, as runs pick it (`project_for_run`). Reads the data
    folders; no query."""
    by_group: dict[int, list[UserProject]] = {}
    for project in projects:
        by_group.setdefault(project.group_id, []).append(project)
    sections = []
    for group in groups:
        members = sorted(
            by_group.get(group.pk, []),
            key=lambda p: (p.name != DEFAULT_PROJECT_NAME, p.name.lower()),
        )
        chosen = project_active_id(session, group.pk)
        active = next((p for p in members if p.pk == chosen), None) or next(
            (p for p in members if p.name == DEFAULT_PROJECT_NAME), None
        )
        section = GroupProjects(group=group)
        for project in members:
            count, size = project_data_usage(project)
            section.rows.append(
                ProjectRow(
                    project=project, is_active=project is active, file_count=count, data_bytes=size
                )
            )
        sections.append(section)
    return sections
