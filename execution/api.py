"""Execution API: start, stop, status, and the interface lifecycle."""

from datetime import datetime
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from accounts.levels import Level, user_has_level
from catalog import selectors as catalog_selectors
from execution import selectors, services
from execution.models import ScriptProcess
from projects.models import UserProject
from projects.services import project_for_run

router = Router(tags=["execution"])


class ExecuteIn(Schema):
    parameters: dict = Field(default_factory=dict)
    project_id: int | None = None


class ExecutionOut(Schema):
    execution_id: UUID
    script_id: int | None
    script_name: str
    status: str
    status_label: str
    stop_reason: str
    stop_reason_label: str
    exit_code: int | None
    started: datetime
    ended: datetime | None
    duration_seconds: float | None
    port: int | None
    project_name: str
    interface: bool
    interface_url: str | None
    app_url: str | None
    seconds_until_idle: int | None
    error: str
    output_tail: str


class RefusalOut(Schema):
    detail: str


class StopIn(Schema):
    execution_id: UUID | None = None


class PingIn(Schema):
    execution_id: UUID | None = None
    active: bool = True


class CloseIn(Schema):
    execution_id: UUID | None = None


def execution_out(process: ScriptProcess) -> dict:
    execution = process.execution
    live = process.is_live
    error = ""
    if execution.status == "failed":
        error = (execution.error_output or execution.debug_output or "")[-4000:]
    return {
        "execution_id": execution.execution_uuid,
        "script_id": execution.script_id,
        "script_name": execution.script_name,
        "status": execution.status,
        "status_label": execution.get_status_display(),
        "stop_reason": execution.stop_reason or process.stop_reason,
        "stop_reason_label": str(
            ScriptProcess.StopReason(execution.stop_reason or process.stop_reason).label
            if (execution.stop_reason or process.stop_reason) in ScriptProcess.StopReason.values
            else ""
        ),
        "exit_code": execution.exit_code,
        "started": execution.start_time,
        "ended": execution.end_time,
        "duration_seconds": execution.duration_seconds,
        "port": process.flask_port,
        "project_name": execution.project_name,
        "interface": process.has_interface,
        "interface_url": services.interface_page_url(process)
        if live and process.has_interface
        else None,
        "app_url": services.interface_app_url(process) if live and process.has_interface else None,
        "seconds_until_idle": services.seconds_until_idle(process),
        "error": error,
        "output_tail": execution.output[-2000:] if execution.is_final else "",
    }


def _process_for(
    request: HttpRequest, script_id: int, execution_id: UUID | None, *, live: bool
) -> ScriptProcess:
    """The user's execution of the script (an admin may name anyone's); 404 otherwise."""
    processes = selectors.processes_visible_to(user=request.user).filter(script_id=script_id)
    if execution_id is not None:
        return get_object_or_404(processes, execution__execution_uuid=execution_id)
    if live:
        processes = processes.filter(status__in=services.LIVE, user=request.user)
    else:
        processes = processes.filter(user=request.user)
    process = processes.order_by("-started_at").first()
    if process is None:
        raise HttpError(
            404, _("You have no running execution of this script.") if live else _("Not found.")
        )
    return process


def _stop(request: HttpRequest, script_id: int, execution_id: UUID | None) -> dict:
    """Stop a live execution; the reason says whether its owner or an admin did."""
    process = _process_for(request, script_id, execution_id, live=True)
    reason = (
        ScriptProcess.StopReason.USER
        if process.user_id == request.user.pk
        else ScriptProcess.StopReason.ADMIN
    )
    return execution_out(services.execution_stop(process=process, reason=reason, by=request.user))


@router.post(
    "/scripts/{script_id}/execute",
    response={200: ExecutionOut, 429: RefusalOut, 503: RefusalOut, 507: RefusalOut},
)
def execute(request: HttpRequest, script_id: int, payload: ExecuteIn):
    """Start the script. Answers once its interface accepts connections (or at
    once for a script without one); a failed start comes back with status failed.
    Refused with 429 at a limit on running scripts or interfaces, 503 when no
    port is free, 507 when your logs fill your storage quota."""
    script = catalog_selectors.script_get_visible(user=request.user, script_id=script_id)
    if payload.project_id is not None:
        project = UserProject.objects.filter(pk=payload.project_id, user=request.user).first()
        if project is None:
            raise ValidationError({"project_id": _("No such project.")})
    else:
        project = project_for_run(request=request, group=script.group)
    try:
        launch = services.execution_start(
            script=script, user=request.user, params=payload.parameters, project=project
        )
    except services.LaunchRefused as refused:
        raise HttpError(refused.status, str(refused)) from None
    return Status(200, execution_out(launch.process))


@router.get("/scripts/{script_id}/status", response=ExecutionOut)
def status(request: HttpRequest, script_id: int, execution_id: UUID | None = None):
    """The named execution, or your latest one of this script."""
    return execution_out(_process_for(request, script_id, execution_id, live=False))


@router.post("/scripts/{script_id}/stop", response=ExecutionOut)
def stop(request: HttpRequest, script_id: int, payload: StopIn | None = None):
    """Stop the named execution, or your latest running one of this script."""
    return _stop(request, script_id, payload.execution_id if payload else None)


@router.post("/scripts/{script_id}/open-interface", response=ExecutionOut)
def open_interface(request: HttpRequest, script_id: int):
    """Your running interface of this script, or a new one started with the
    default parameter values."""
    script = catalog_selectors.script_get_visible(user=request.user, script_id=script_id)
    process = (
        selectors.processes_visible_to(user=request.user)
        .filter(script=script, user=request.user, status__in=services.LIVE, has_interface=True)
        .order_by("-started_at")
        .first()
    )
    if process is not None:
        return execution_out(process)
    if not script.interface:
        raise HttpError(400, _("This script has no web interface."))
    try:
        launch = services.execution_start(
            script=script,
            user=request.user,
            params={},
            project=project_for_run(request=request, group=script.group),
        )
    except services.LaunchRefused as refused:
        raise HttpError(refused.status, str(refused)) from None
    return execution_out(launch.process)


@router.get("/scripts/{script_id}/interface-status", response=ExecutionOut)
def interface_status(request: HttpRequest, script_id: int, execution_id: UUID | None = None):
    return execution_out(_process_for(request, script_id, execution_id, live=False))


@router.post("/scripts/{script_id}/ping-interface", response=ExecutionOut)
def ping_interface(request: HttpRequest, script_id: int, payload: PingIn):
    """Heartbeat from an open interface tab; `active` when a person used it."""
    process = _process_for(request, script_id, payload.execution_id, live=False)
    if process.is_live:
        process = services.interface_ping(process=process, active=payload.active)
    return execution_out(process)


@router.post("/scripts/{script_id}/close-interface", response=ExecutionOut)
def close_interface(request: HttpRequest, script_id: int, payload: CloseIn | None = None):
    """Close the interface now (the Stop button)."""
    return _stop(request, script_id, payload.execution_id if payload else None)


@router.get("/active-interfaces", response=list[ExecutionOut])
def active_interfaces(request: HttpRequest):
    """Your running interfaces; administrators see everyone's."""
    processes = selectors.processes_visible_to(user=request.user).filter(
        status__in=services.LIVE, has_interface=True
    )
    if not user_has_level(request.user, Level.ADMIN):
        processes = processes.filter(user=request.user)
    return [execution_out(p) for p in processes.order_by("-started_at")]
