"""Projects API: a user's projects per script group, and the active one."""

import re
import shutil
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from catalog import selectors as catalog_selectors
from projects import services
from projects.data_files import project_backup_zip
from projects.models import DEFAULT_PROJECT_NAME, UserProject

router = Router(tags=["projects"])
PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$")


class ProjectOut(Schema):
    id: int
    name: str
    description: str
    group_id: int
    is_default: bool
    is_active: bool
    created_at: datetime
    last_accessed: datetime | None


class ProjectIn(Schema):
    group_id: int
    name: str = Field(max_length=100)
    description: str = Field("", max_length=2000)


class ProjectUpdate(Schema):
    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=2000)


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
    return name


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
    group = catalog_selectors.group_get_visible(user=request.user, group_id=payload.group_id)
    name = _name_check(payload.name)
    if UserProject.objects.filter(user=request.user).count() >= settings.MAX_PROJECTS_PER_USER:
        raise HttpError(
            409,
            _("You already have %(max)d projects, the limit. Delete one first.")
            % {"max": settings.MAX_PROJECTS_PER_USER},
        )
    try:
        with transaction.atomic():
            project = UserProject.objects.create(
                user=request.user, group=group, name=name, description=payload.description
            )
    except IntegrityError:
        message = _("You already have a project with this name here.")
        raise ValidationError({"name": message}) from None
    services.project_data_dir_ensure(project)
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
            raise ValidationError({"name": _("You already have a project with this name here.")})
        old_dir = services.project_data_dir(project)
        project.name = name
        new_dir = services.project_data_dir(project)
        if old_dir.exists():
            if new_dir.exists():
                raise ValidationError({"name": _("A data folder with this name already exists.")})
            old_dir.rename(new_dir)
    if payload.description is not None:
        project.description = payload.description
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
    backup = project_backup_zip(project) if services.project_data_dir(project).exists() else None
    data_dir = services.project_data_dir(project)
    group_id = project.group_id
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
