"""Execution logs API. An execution is named by its UUID everywhere.

Users see their own logs; administrators see everyone's through /api/admin/.
Another user's log answers 404, exactly like a missing one, and the attempt is
audited.
"""

from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models.functions import Right
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate
from pydantic import ValidationError as PydanticValidationError

from accounts.levels import Level, require_level
from accounts.models import AuditEvent
from accounts.services import audit_access_refused, audit_record
from logs import exports, selectors, services
from logs.models import ExecutionLog, LogFilterPreset

router = Router(tags=["logs"])
MAX_CHUNK = 1 << 20
COUNT_CAP = 10_000
# Up to 1000 logs in one export: their database copies of the output (up to
# OUTPUT_DB_LIMIT_BYTES each) are loaded only for a log that lost its files.
EXPORT_DEFERRED = ("output", "error_output")


class LogPagination(PageNumberPagination):
    """Page numbers, counting at most COUNT_CAP matches: a search that hits most
    of 100 000 logs need not count them all to show its first page."""

    class Output(Schema):
        items: list[Any]
        count: int
        count_capped: bool

    def _items_count(self, queryset) -> int:
        return queryset.values("pk")[: COUNT_CAP + 1].count()

    def paginate_queryset(self, queryset, pagination, request, **params):
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page["count_capped"] = page["count"] > COUNT_CAP
        page["count"] = min(page["count"], COUNT_CAP)
        return page


class LogOut(Schema):
    execution_id: UUID = Field(alias="execution_uuid")
    script_id: int | None
    script_name: str
    username: str
    project_id: int | None
    project_name: str
    status: str
    stop_reason: str
    start_time: datetime
    end_time: datetime | None
    duration_seconds: float | None
    exit_code: int | None
    parameters: dict
    output_preview: str
    error_preview: str


class LogFilter(Schema):
    script_id: int | None = None
    project_id: int | None = None
    status: ExecutionLog.Status | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    q: str | None = Field(None, description="full text over output, errors, parameters and script")
    sort: Literal[
        "start", "-start", "script", "-script", "project", "-project",
        "duration", "-duration", "status", "-status", "user", "-user",
    ] = "-start"  # fmt: skip


class AnnotationIn(Schema):
    bookmarked: bool | None = None
    note: str | None = Field(None, max_length=5000)


class AnnotationOut(Schema):
    execution_id: UUID
    bookmarked: bool
    note: str


class PresetIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    filters: dict


class PresetOut(Schema):
    id: int
    name: str
    filters: dict


class ChunkOut(Schema):
    stream: str
    offset: int
    next_offset: int
    size: int
    data: str


class IdsIn(Schema):
    execution_ids: list[UUID] = Field(min_length=1, max_length=1000)


class ExportIn(IdsIn):
    format: Literal["txt", "json", "csv", "pdf"] = "json"


class StatsOut(Schema):
    total: int
    success_rate: float | None
    average_duration_seconds: float | None
    storage_bytes: int
    quota_bytes: int
    quota_warning: bool
    most_used_scripts: list[dict]
    most_used_projects: list[dict]


class CountOut(Schema):
    deleted: int


def _filtered(request: HttpRequest, filters: "LogFilter", *, everyone: bool = False):
    values = filters.dict(exclude_none=True)
    values["text"] = values.pop("q", None)
    return selectors.logs_filter(
        selectors.logs_visible_to(user=request.user, everyone=everyone), **values
    )


def _annotate_previews(logs):
    """The list's rows: the last 500 characters of each stream, computed by the
    database, never the whole (possibly megabytes of) output."""
    return logs.defer("output", "error_output", "debug_output").annotate(
        output_preview=Right("output", 500), error_preview=Right("error_output", 500)
    )


def _get_log(request: HttpRequest, execution_id: UUID, *, everyone: bool = True) -> ExecutionLog:
    """The log when the user may see it; otherwise 404, and an audited attempt
    when it belongs to someone else."""
    log = (
        selectors.logs_visible_to(user=request.user, everyone=everyone)
        .filter(execution_uuid=execution_id)
        .first()
    )
    if log is None:
        other = ExecutionLog.objects.filter(execution_uuid=execution_id).first()
        if other is not None:
            audit_access_refused(
                request=request, action=AuditEvent.Action.LOG_ACCESS_REFUSED, target=other
            )
        raise HttpError(404, _("Not found."))
    return log


class ExportResponse(StreamingHttpResponse):
    """A download streamed chunk by chunk from a synchronous iterator. Under
    ASGI Django would first list() such an iterator, holding the whole export
    in memory: here each chunk is pulled in a worker thread, one at a time."""

    async def __aiter__(self):
        chunks = iter(self.streaming_content)
        while (chunk := await sync_to_async(next)(chunks, None)) is not None:
            yield chunk


EXPORTS = {
    "txt": (exports.logs_text_chunks, "text/plain; charset=utf-8"),
    "json": (exports.logs_json_chunks, "application/json"),
    "csv": (exports.logs_csv_chunks, "text/csv; charset=utf-8"),
}


def _export(logs: list[ExecutionLog], fmt: str, name: str) -> HttpResponseBase:
    if fmt == "pdf":
        response: HttpResponseBase = HttpResponse(
            exports.logs_pdf_bytes(logs), content_type="application/pdf"
        )
    else:
        chunks, content_type = EXPORTS[fmt]
        response = ExportResponse(chunks(logs), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


# --- The user's own logs -------------------------------------------------------------


@router.get("/logs/execution", response=list[LogOut])
@paginate(LogPagination, page_size=25)
def logs_list(request: HttpRequest, filters: Query[LogFilter]):
    """Your executions, newest first; filter, sort and search full text."""
    return _annotate_previews(_filtered(request, filters))


@router.get("/logs/search", response=list[LogOut])
@paginate(LogPagination, page_size=25)
def logs_search(request: HttpRequest, filters: Query[LogFilter]):
    if not (filters.q or "").strip():
        raise HttpError(400, _("Give the text to search for in q."))
    return _annotate_previews(_filtered(request, filters))


@router.get("/logs/script/{script_id}", response=list[LogOut])
@paginate(LogPagination, page_size=25)
def logs_of_script(request: HttpRequest, script_id: int):
    logs = selectors.logs_filter(selectors.logs_visible_to(user=request.user), script_id=script_id)
    return _annotate_previews(logs)


@router.get("/logs/project/{project_id}", response=list[LogOut])
@paginate(LogPagination, page_size=25)
def logs_of_project(request: HttpRequest, project_id: int):
    logs = selectors.logs_filter(
        selectors.logs_visible_to(user=request.user), project_id=project_id
    )
    return _annotate_previews(logs)


@router.get("/logs/execution/{execution_id}")
def log_detail(request: HttpRequest, execution_id: UUID):
    """The whole record in the specification's log structure."""
    return exports.log_document(_get_log(request, execution_id))


@router.get("/logs/execution/{execution_id}/output", response=ChunkOut)
def log_output(
    request: HttpRequest,
    execution_id: UUID,
    stream: Literal["stdout", "stderr"] = "stdout",
    offset: int = 0,
    limit: int = 256 * 1024,
):
    """A byte range of one output stream, for viewers that load big logs on demand."""
    if offset < 0 or not 1 <= limit <= MAX_CHUNK:
        raise HttpError(
            400, _("offset must be 0 or more and limit between 1 and %(max)d.") % {"max": MAX_CHUNK}
        )
    log = _get_log(request, execution_id)
    relative = log.stdout_path if stream == "stdout" else log.stderr_path
    path = Path(settings.LOGS_DIR) / relative if relative else None
    data, size = b"", 0
    if path is not None and path.is_file():
        size = path.stat().st_size
        with path.open("rb") as handle:
            handle.seek(min(offset, size))
            data = handle.read(limit)
    # Never cut a UTF-8 character in two: hold back an incomplete tail.
    end = len(data)
    if offset + end < size:
        while end and (data[end - 1] & 0xC0) == 0x80:
            end -= 1
        if end and data[end - 1] >= 0xC0:
            end -= 1
    text = data[:end].decode("utf-8", errors="replace")
    return {
        "stream": stream,
        "offset": offset,
        "next_offset": offset + end,
        "size": size,
        "data": text,
    }


@router.get("/logs/execution/{execution_id}/download")
def log_download(
    request: HttpRequest, execution_id: UUID, format: Literal["txt", "json", "csv", "pdf"] = "txt"
):  # noqa: A002
    log = _get_log(request, execution_id)
    return _export([log], format, f"execution_{log.execution_uuid}")


@router.post("/logs/export")
def logs_export(request: HttpRequest, payload: ExportIn):
    """Several of your logs in one file."""
    logs = list(
        selectors.logs_visible_to(user=request.user)
        .filter(execution_uuid__in=payload.execution_ids)
        .defer(*EXPORT_DEFERRED)
    )
    if len(logs) != len(set(payload.execution_ids)):
        raise HttpError(404, _("Some of these executions do not exist or are not yours."))
    return _export(logs, payload.format, "executions")


@router.put("/logs/execution/{execution_id}/annotation", response=AnnotationOut)
def log_annotate(request: HttpRequest, execution_id: UUID, payload: AnnotationIn):
    """Your bookmark and note on one of your runs."""
    log = _get_log(request, execution_id, everyone=False)
    if payload.bookmarked is not None:
        log.bookmarked = payload.bookmarked
    if payload.note is not None:
        log.note = payload.note
    log.save(update_fields=["bookmarked", "note", "last_updated"])
    return {"execution_id": log.execution_uuid, "bookmarked": log.bookmarked, "note": log.note}


@router.get("/logs/presets", response=list[PresetOut])
def presets(request: HttpRequest):
    return LogFilterPreset.objects.filter(user=request.user)


@router.post("/logs/presets", response=PresetOut)
def preset_save(request: HttpRequest, payload: PresetIn):
    """Save (or replace) a named filter preset; unknown filter names are refused."""
    allowed = set(LogFilter.model_fields)
    unknown = sorted(set(payload.filters) - allowed)
    if unknown:
        raise ValidationError(
            {"filters": _("Unknown filters: %(names)s.") % {"names": ", ".join(unknown)}}
        )
    try:
        LogFilter(**payload.filters)  # every value must be valid too
    except PydanticValidationError as error:
        raise ValidationError(
            {
                "filters": "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
                )
            }
        ) from None
    preset, _created = LogFilterPreset.objects.update_or_create(
        user=request.user, name=payload.name.strip(), defaults={"filters": payload.filters}
    )
    return preset


@router.delete("/logs/presets/{preset_id}", response=CountOut)
def preset_delete(request: HttpRequest, preset_id: int):
    deleted, _detail = LogFilterPreset.objects.filter(user=request.user, pk=preset_id).delete()
    if not deleted:
        raise HttpError(404, _("Not found."))
    return {"deleted": deleted}


@router.delete("/logs/execution/{execution_id}", response=CountOut)
def log_delete(request: HttpRequest, execution_id: UUID):
    """Delete one of your finished executions, with its files."""
    log = _get_log(request, execution_id, everyone=False)
    if not log.is_final:
        raise HttpError(409, _("This execution is still running; stop it first."))
    services.execution_log_delete(execution=log)
    return {"deleted": 1}


@router.post("/logs/delete", response=CountOut)
def logs_delete(request: HttpRequest, payload: IdsIn):
    """Delete several of your finished executions."""
    logs = list(
        selectors.logs_visible_to(user=request.user).filter(
            execution_uuid__in=payload.execution_ids
        )
    )
    if len(logs) != len(set(payload.execution_ids)):
        raise HttpError(404, _("Some of these executions do not exist or are not yours."))
    if any(not log.is_final for log in logs):
        raise HttpError(409, _("Some of these executions are still running; stop them first."))
    for log in logs:
        services.execution_log_delete(execution=log)
    return {"deleted": len(logs)}


@router.post("/logs/cleanup", response=CountOut)
def logs_cleanup(request: HttpRequest):
    """Apply the retention policy now: to your logs, or to everyone's for an admin."""
    everyone = request.user.user_level == Level.ADMIN
    return {"deleted": services.logs_cleanup(user=None if everyone else request.user)}


@router.get("/logs/stats", response=StatsOut)
def logs_stats(request: HttpRequest):
    used = services.storage_used(user=request.user)
    quota = settings.LOG_STORAGE_QUOTA_MB * 1024 * 1024
    return {
        **selectors.logs_stats(user=request.user),
        "storage_bytes": used,
        "quota_bytes": quota,
        "quota_warning": used >= 0.9 * quota,
    }


# --- Administrators ------------------------------------------------------------------


@router.get("/admin/logs/execution", response=list[LogOut], tags=["admin"])
@require_level(Level.ADMIN)
@paginate(LogPagination, page_size=25)
def admin_logs(request: HttpRequest, filters: Query[LogFilter]):
    return _annotate_previews(_filtered(request, filters, everyone=True))


@router.get("/admin/logs/user/{user_id}", response=list[LogOut], tags=["admin"])
@require_level(Level.ADMIN)
@paginate(LogPagination, page_size=25)
def admin_user_logs(request: HttpRequest, user_id: int):
    return _annotate_previews(
        ExecutionLog.objects.filter(user_id=user_id).order_by("-start_time", "-id")
    )


@router.delete("/admin/logs/user/{user_id}", response=CountOut, tags=["admin"])
@require_level(Level.ADMIN)
def admin_user_logs_delete(request: HttpRequest, user_id: int):
    if not get_user_model().objects.filter(pk=user_id).exists():
        raise HttpError(404, _("Not found."))
    logs = list(ExecutionLog.objects.filter(user_id=user_id, status__in=ExecutionLog.FINAL))
    for log in logs:
        services.execution_log_delete(execution=log)
    audit_record(
        action=AuditEvent.Action.LOGS_DELETED,
        actor=request.user,
        request=request,
        details={"user_id": user_id, "deleted": len(logs)},
    )
    return {"deleted": len(logs)}


@router.post("/admin/logs/export", tags=["admin"])
@require_level(Level.ADMIN)
def admin_logs_export(request: HttpRequest, payload: ExportIn):
    logs = list(
        ExecutionLog.objects.filter(execution_uuid__in=payload.execution_ids).defer(
            *EXPORT_DEFERRED
        )
    )
    if not logs:
        raise HttpError(404, _("Not found."))
    return _export(logs, payload.format, "executions")


@router.get("/admin/logs/system", tags=["admin"])
@require_level(Level.ADMIN)
def admin_system_logs(request: HttpRequest, name: str = "access.log", lines: int = 200):
    """The last lines of one of the system log files under data/logs/system/."""
    folder = Path(settings.SYSTEM_LOG_DIR)
    files = sorted(p.name for p in folder.glob("*.log")) if folder.is_dir() else []
    if name not in files:
        raise HttpError(404, _("No system log named “%(name)s”.") % {"name": name})
    path = folder / name
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 512 * 1024))
        tail = (
            handle.read()
            .decode("utf-8", errors="replace")
            .splitlines()[-max(1, min(lines, 5000)) :]
        )
    return {"files": files, "name": name, "lines": tail}
