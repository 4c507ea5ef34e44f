"""Projects API: a user's projects per script group, and the active one."""

import re
import shutil
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from accounts.models import AuditEvent, User
from accounts.services import audit_record
from catalog import selectors as catalog_selectors
from catalog.models import ScriptGroup
from projects import services
from projects.data_files import project_backup_zip
from projects.models import DEFAULT_PROJECT_NAME, UserProject

router = Router(tags=["projects"])
PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$")
DESCRIPTION_MAX_LENGTH = 2000


class ProjectOut(Schema):
    id: int
    name: str
    description: str
    group_id: int
    is_default: bool
    is_active: bool
    created_at: datetime
    last_accessed: datetime | None


# Lengths and the group are checked by the handlers, not the schema, so that
# every refusal names its field in the user's language (pydantic's are English).
class ProjectIn(Schema):
    group_id: int | None = None
    name: str = Field("", description="1 to 100 letters, digits, spaces, _ . -")
    description: str = Field("", description=f"at most {DESCRIPTION_MAX_LENGTH} characters")


class ProjectUpdate(Schema):
    name: str | None = None
    description: str | None = None


class DeleteIn(Schema):
    confirm: bool = False


class DeletedOut(Schema):
    deleted: bool
    backup: str


def _out(project: UserProject, request: HttpRequest) -> dict:
    active = services.project_active_id(request.session, project.group_id)
    return {
        "id": project.pk,
        "name": project.name,
        "description": project.description,
        "group_id": project.group_id,
        "is_default": project.is_default,
        "is_active": active == project.pk or (active is None and project.is_default),
        "created_at": project.created_at,
        "last_accessed": project.last_accessed,
    }


def _own(request: HttpRequest, project_id: int) -> UserProject:
    projects = UserProject.objects.select_related("group")
    return get_object_or_404(projects, pk=project_id, user=request.user)


def _name_check(name: str) -> str:
    name = name.strip()
    if not PROJECT_NAME.match(name):
        raise ValidationError(
            {
                "name": _(
                    "A project name has 1 to 100 letters, digits, spaces, “_”, “.” or “-”, "
                    "starting with a letter or digit."
                )
            }
        )
    if name == DEFAULT_PROJECT_NAME:
        # Reserved: the default project is found by this name, and it must stay undeletable.
        message = _("“%(name)s” is kept for the default project.") % {"name": name}
        raise ValidationError({"name": message})
    return name


def _description_check(description: str) -> str:
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise ValidationError(
            {
                "description": _("A description has at most %(max)d characters.")
                % {"max": DESCRIPTION_MAX_LENGTH}
            }
        )
    return description


def _group_for_create(request: HttpRequest, group_id: int | None) -> ScriptGroup:
    if group_id is None:
        raise ValidationError({"group_id": _("Choose a script group.")})
    try:
        return catalog_selectors.group_get_visible(user=request.user, group_id=group_id)
    except Http404:
        raise ValidationError(
            {"group_id": _("There is no such script group, or you cannot see it.")}
        ) from None


@router.get("/projects", response=list[ProjectOut])
def projects(request: HttpRequest, group_id: int | None = None):
    """Your projects, in every group you can see or in one."""
    rows = UserProject.objects.filter(user=request.user).select_related("group")
    if group_id is not None:
        group = catalog_selectors.group_get_visible(user=request.user, group_id=group_id)
        services.project_ensure_default(user=request.user, group=group)
        rows = rows.filter(group=group)
    return [_out(p, request) for p in rows.order_by("group__directory_name", "name")]


@router.post("/projects", response=ProjectOut)
def project_create(request: HttpRequest, payload: ProjectIn):
    """A new project in a group you can see; 409 at MAX_PROJECTS_PER_USER."""
    group = _group_for_create(request, payload.group_id)
    name = _name_check(payload.name)
    description = _description_check(payload.description)
    limit = settings.MAX_PROJECTS_PER_USER
    try:
        with transaction.atomic():
            # The user's row is the lock: two creations at once cannot both
            # pass the count and end one over the limit.
            User.objects.select_for_update().filter(pk=request.user.pk).first()
            if UserProject.objects.filter(user=request.user).count() >= limit:
                raise HttpError(
                    409,
                    ngettext(
                        "You have reached the limit of %(max)d project. "
                        "Delete one to create another.",
                        "You have reached the limit of %(max)d projects. "
                        "Delete one to create another.",
                        limit,
                    )
                    % {"max": limit},
                )
            project = UserProject.objects.create(
                user=request.user, group=group, name=name, description=description
            )
    except IntegrityError:
        message = _("You already have a project with this name in this group.")
        raise ValidationError({"name": message}) from None
    services.project_data_dir_ensure(project)
    audit_record(
        action=AuditEvent.Action.PROJECT_CREATED,
        actor=request.user,
        request=request,
        target=project,
        details={"group": group.directory_name},
    )
    return _out(project, request)


@router.put("/projects/{int:project_id}", response=ProjectOut)
def project_update(request: HttpRequest, project_id: int, payload: ProjectUpdate):
    """Rename (its data folder moves with it) or describe a project."""
    project = _own(request, project_id)
    if payload.name is not None and payload.name.strip() != project.name:
        if project.is_default:
            raise ValidationError({"name": _("The default project cannot be renamed.")})
        name = _name_check(payload.name)
        if UserProject.objects.filter(user=request.user, group=project.group, name=name).exists():
            message = _("You already have a project with this name in this group.")
            raise ValidationError({"name": message})
        if services.project_runs_live(project=project):
            # Its folder moves with the name: a running script would lose its --data-dir.
            raise HttpError(
                409, _("Scripts of this project are running; stop them before renaming it.")
            )
        old_dir = services.project_data_dir(project)
        project.name = name
        new_dir = services.project_data_dir(project)
        if old_dir.exists():
            if new_dir.exists():
                raise ValidationError({"name": _("A data folder with this name already exists.")})
            old_dir.rename(new_dir)
    if payload.description is not None:
        project.description = _description_check(payload.description)
    project.save()
    return _out(project, request)


@router.delete("/projects/{int:project_id}", response=DeletedOut)
def project_delete(request: HttpRequest, project_id: int, payload: DeleteIn):
    """Delete a project after a backup of its data; needs `{"confirm": true}`."""
    project = _own(request, project_id)
    if not payload.confirm:
        message = _("Deleting a project removes its data: confirm with true.")
        raise ValidationError({"confirm": message})
    if project.is_default or project.name == DEFAULT_PROJECT_NAME:
        raise ValidationError({"project": _("The default project cannot be deleted.")})
    data_dir = services.project_data_dir(project)
    # The backup comes first: when it fails, nothing has been removed yet.
    backup = project_backup_zip(project) if data_dir.exists() else None
    group_id = project.group_id
    audit_record(
        action=AuditEvent.Action.PROJECT_DELETED,
        actor=request.user,
        request=request,
        target=project,
        details={
            "group": project.group.directory_name,
            "backup": backup.name if backup else "",
        },
    )
    project.delete()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    if services.project_active_id(request.session, group_id) == project_id:
        services.project_activate(request.session, group_id, None)
    return {"deleted": True, "backup": backup.name if backup else ""}


@router.post("/projects/{int:project_id}/set-active", response=ProjectOut)
def project_set_active(request: HttpRequest, project_id: int):
    """Make it the project your runs in its group use, for this session."""
    project = _own(request, project_id)
    services.project_activate(request.session, project.group_id, project.pk)
    return _out(project, request)


@router.get("/projects/active", response=ProjectOut)
def project_active(request: HttpRequest, group_id: int):
    group = catalog_selectors.group_get_visible(user=request.user, group_id=group_id)
    return _out(services.project_for_run(request=request, group=group), request)
