"""Project data files API: list, read, write, delete, and a zip backup.

Users reach their own projects; an administrator reaches everyone's when
ADMIN_CAN_ACCESS_ALL_DATA allows it. Another user's project answers 404,
exactly like a missing one.

Route order matters: Django tries the patterns in registration order and
`{path:filename}` matches anything, so `/files` and `/backup` come first. A
pattern that matches stops the search even for a method it lacks (405), so
those two paths also carry the file methods they do not use themselves: only
GET of a file named "files" and POST of a file named "backup" (at the top of
the folder) are unreachable, taken by the listing and the backup.
"""

import mimetypes
from datetime import datetime

from django.conf import settings
from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from accounts.levels import Level, user_has_level
from accounts.models import AuditEvent
from accounts.services import audit_access_refused
from catalog.selectors import group_get_visible
from projects import data_files
from projects.models import UserProject

router = Router(tags=["data"])

# Served inline; anything else (HTML and SVG included, which would run scripts
# on this origin) is sent as a download.
INLINE_TYPES = {"text/plain", "text/csv", "text/markdown", "application/json"}
PREFIX = "/data/{int:group_id}/{int:project_id}"
FILES = f"{PREFIX}/files"
BACKUP = f"{PREFIX}/backup"
FILE = f"{PREFIX}/{{path:filename}}"


class DataFileOut(Schema):
    name: str
    size: int
    modified: datetime


def _project_get(request: HttpRequest, group_id: int, project_id: int) -> UserProject:
    """The project when the user may reach its data; 404 otherwise."""
    group = group_get_visible(user=request.user, group_id=group_id)
    project = (
        UserProject.objects.select_related("user", "group")
        .filter(pk=project_id, group=group)
        .first()
    )
    if project is None:
        raise HttpError(404, _("Not found."))
    if project.user_id != request.user.pk and not (
        settings.ADMIN_CAN_ACCESS_ALL_DATA and user_has_level(request.user, Level.ADMIN)
    ):
        audit_access_refused(
            request=request, action=AuditEvent.Action.DATA_ACCESS_REFUSED, target=project
        )
        raise HttpError(404, _("Not found."))
    return project


def _refused(error: Exception) -> HttpError:
    if isinstance(error, FileNotFoundError):
        return HttpError(404, _("No such file."))
    return HttpError(400, str(error))


@router.get(FILES, response=list[DataFileOut])
def data_files_list(request: HttpRequest, group_id: int, project_id: int):
    """Every file of the project's data folder, with sub-folder names."""
    return data_files.data_files_list(_project_get(request, group_id, project_id))


@router.post(BACKUP)
def data_backup(request: HttpRequest, group_id: int, project_id: int):
    """A zip of the project's data folder, kept under backups/ and downloaded.

    This route takes POST of a top-level data file named "backup": such a
    file can be read and deleted, but not written through the API.
    """
    project = _project_get(request, group_id, project_id)
    path = data_files.project_backup_zip(project)
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=path.name, content_type="application/zip"
    )


@router.get(FILE)
def data_file_get(request: HttpRequest, group_id: int, project_id: int, filename: str):
    project = _project_get(request, group_id, project_id)
    try:
        handle, info = data_files.data_file_open(project, filename)
    except (data_files.DataPathError, FileNotFoundError) as error:
        raise _refused(error) from None
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = FileResponse(
        handle,
        as_attachment=content_type not in INLINE_TYPES,
        filename=filename.rsplit("/", 1)[-1],
        content_type=content_type,
    )
    response["Content-Length"] = str(info.st_size)
    return response


@router.post(FILE, response=DataFileOut)
def data_file_put(request: HttpRequest, group_id: int, project_id: int, filename: str):
    """Store the raw request body as the file; .json files must hold valid JSON."""
    project = _project_get(request, group_id, project_id)
    limit = data_files.data_file_max_bytes()
    # Read at most one byte past the limit: the service then refuses with its
    # message, and a huge body is never held whole.
    content = request.read(limit + 1)
    try:
        return data_files.data_file_write(project, filename, content)
    except ValueError as error:  # DataPathError, size, JSON
        raise _refused(error) from None


@router.delete(FILE, response={204: None})
def data_file_delete(request: HttpRequest, group_id: int, project_id: int, filename: str):
    project = _project_get(request, group_id, project_id)
    try:
        data_files.data_file_delete(project, filename)
    except (data_files.DataPathError, FileNotFoundError) as error:
        raise _refused(error) from None
    return Status(204, None)


# The file methods on the two fixed paths (see the module docstring): a data
# file named "files" can still be written and deleted, one named "backup"
# read and deleted. Registered after the handlers they call; their paths were
# registered first, which is what sets Django's order.


@router.post(FILES, response=DataFileOut, include_in_schema=False)
def data_file_put_named_files(request: HttpRequest, group_id: int, project_id: int):
    return data_file_put(request, group_id, project_id, "files")


@router.delete(FILES, response={204: None}, include_in_schema=False)
def data_file_delete_named_files(request: HttpRequest, group_id: int, project_id: int):
    return data_file_delete(request, group_id, project_id, "files")


@router.get(BACKUP, include_in_schema=False)
def data_file_get_named_backup(request: HttpRequest, group_id: int, project_id: int):
    return data_file_get(request, group_id, project_id, "backup")


@router.delete(BACKUP, response={204: None}, include_in_schema=False)
def data_file_delete_named_backup(request: HttpRequest, group_id: int, project_id: int):
    return data_file_delete(request, group_id, project_id, "backup")
