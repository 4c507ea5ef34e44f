"""Administrators' user management API: /api/admin/users/...

Every endpoint is admin-only and refuses others exactly like the other admin
endpoints (403 with the level needed). Guards (no self-removal, the last
active admin kept, no reset while scripts run) answer 400 or 409.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from accounts import services_admin
from accounts.api import UserOut
from accounts.levels import Level, require_level
from accounts.models import User

router = Router(tags=["admin"])


class UserFilter(Schema):
    level: Level | None = None
    active: bool | None = None
    q: str | None = None


class UserCreateIn(Schema):
    # Plain strings, checked by the service, so one answer names every bad field.
    username: str = ""
    email: str = ""
    password: str = ""
    user_level: str = Level.VIEWER
    preferred_language: str | None = None
    preferred_theme: str | None = None
    is_active: bool = True


class UserUpdateIn(Schema):
    """Only the fields given change; a password is set only when one is given."""

    username: str | None = None
    email: str | None = None
    password: str | None = None
    user_level: str | None = None
    preferred_language: str | None = None
    preferred_theme: str | None = None
    is_active: bool | None = None


class ProjectUsageOut(Schema):
    id: int
    group_id: int
    group_name: str
    group_directory: str
    name: str
    is_default: bool
    created_at: datetime
    last_accessed: datetime | None
    data_bytes: int
    file_count: int


class UserProjectsOut(Schema):
    user_id: int
    username: str
    projects: list[ProjectUsageOut]
    total_bytes: int
    total_files: int


class ConfirmIn(Schema):
    confirm: bool = False


class ResetProjectOut(Schema):
    id: int
    group_directory: str
    name: str
    files_removed: int
    bytes_removed: int
    skipped: bool


class ResetOut(Schema):
    backup: str
    projects: list[ResetProjectOut]
    files_removed: int
    bytes_removed: int


class DeletedOut(Schema):
    deleted: bool
    backup: str
    stopped: int
    folders_removed: int


def _refused(refusal: services_admin.UserChangeRefused) -> HttpError:
    return HttpError(refusal.status, refusal.message)


def _backup_failed(error: services_admin.BackupFailed) -> HttpError:
    return HttpError(
        500,
        _("The backup could not be written (%(error)s); nothing was removed.") % {"error": error},
    )


@router.get("/admin/users", response=list[UserOut])
@require_level(Level.ADMIN)
@paginate(PageNumberPagination, page_size=50)
def admin_users(request: HttpRequest, filters: Query[UserFilter]):
    """Every user by username; filter by level and activity, `q` searches username and email."""
    return services_admin.users_filter(level=filters.level, active=filters.active, text=filters.q)


@router.post("/admin/users", response={201: UserOut})
@require_level(Level.ADMIN)
def admin_user_create(request: HttpRequest, payload: UserCreateIn):
    """Create a user; a 400 names each bad field and nothing is created."""
    user = services_admin.user_create(request=request, **payload.dict())
    return Status(201, user)


@router.put("/admin/users/{int:user_id}", response=UserOut)
@require_level(Level.ADMIN)
def admin_user_update(request: HttpRequest, user_id: int, payload: UserUpdateIn):
    """Change the given fields. Renaming moves the user's data folders."""
    user = get_object_or_404(User, pk=user_id)
    values = payload.dict(exclude_none=True)
    password = values.pop("password", None)
    try:
        return services_admin.user_update(
            user=user, request=request, changes=values, password=password
        )
    except services_admin.UserChangeRefused as refusal:
        raise _refused(refusal) from None


@router.delete("/admin/users/{int:user_id}", response=DeletedOut)
@require_level(Level.ADMIN)
def admin_user_delete(request: HttpRequest, user_id: int):
    """Stop the user's scripts, back up their data, delete the account and the
    data folders. Their execution logs stay readable by administrators."""
    user = get_object_or_404(User, pk=user_id)
    try:
        result = services_admin.user_delete(user=user, request=request)
    except services_admin.UserChangeRefused as refusal:
        raise _refused(refusal) from None
    except services_admin.BackupFailed as error:
        raise _backup_failed(error) from None
    return {"deleted": True, **result}


@router.get("/admin/users/{int:user_id}/projects", response=UserProjectsOut)
@require_level(Level.ADMIN)
def admin_user_projects(request: HttpRequest, user_id: int):
    """The user's projects with the bytes and files in each data folder, and totals."""
    user = get_object_or_404(User, pk=user_id)
    return {
        "user_id": user.pk,
        "username": user.username,
        **services_admin.user_projects_usage(user=user),
    }


@router.post("/admin/users/{int:user_id}/reset-data", response=ResetOut)
@require_level(Level.ADMIN)
def admin_user_reset_data(request: HttpRequest, user_id: int, payload: ConfirmIn):
    """Back up, then empty, every project folder of the user; needs `{"confirm": true}`."""
    user = get_object_or_404(User, pk=user_id)
    if not payload.confirm:
        message = _("Resetting removes all of this user's project data: confirm with true.")
        raise ValidationError({"confirm": message})
    try:
        return services_admin.user_data_reset(user=user, request=request)
    except services_admin.UserChangeRefused as refusal:
        raise _refused(refusal) from None
    except services_admin.BackupFailed as error:
        raise _backup_failed(error) from None
