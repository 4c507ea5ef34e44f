"""Log pages: the list of your executions and the log of one execution.

Both pages are shells around the logs JSON API (logs/api.py): the list's rows,
the output streams and every action come from there, so a page and the API
cannot disagree about who sees what.
"""

import json
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.levels import Level, user_has_level
from accounts.models import AuditEvent
from accounts.services import audit_access_refused
from execution.models import ScriptProcess
from execution.parameters import SECRET_MASK
from logs import selectors
from logs.models import ExecutionLog
from projects.models import UserProject

# Bootstrap colour of each status, shared by the server-rendered badge and logs.js.
STATUS_COLOURS = {
    ExecutionLog.Status.STARTING: "info",
    ExecutionLog.Status.RUNNING: "primary",
    ExecutionLog.Status.COMPLETED: "success",
    ExecutionLog.Status.FAILED: "danger",
    ExecutionLog.Status.TERMINATED: "warning",
    ExecutionLog.Status.LOST: "secondary",
}

# The list page's bookmark menu shows the newest runs you bookmarked, this many.
BOOKMARKS_SHOWN = 50


def _statuses() -> dict[str, dict[str, str]]:
    return {
        value: {"label": str(label), "colour": STATUS_COLOURS[value]}
        for value, label in ExecutionLog.Status.choices
    }


def _log_get_visible(request: HttpRequest, execution_id: UUID) -> ExecutionLog:
    """The execution when the user may see it (theirs, or anyone's for an admin).
    Otherwise 404, exactly like a missing one, and the attempt on someone else's
    log is audited as the API does."""
    log = (
        selectors.logs_visible_to(user=request.user, everyone=True)
        .filter(execution_uuid=execution_id)
        .select_related("script__group", "project__group")
        .defer("output", "error_output")
        .first()
    )
    if log is not None:
        return log
    other = ExecutionLog.objects.filter(execution_uuid=execution_id).only("pk").first()
    if other is not None:
        audit_access_refused(
            request=request, action=AuditEvent.Action.LOG_ACCESS_REFUSED, target=other
        )
    raise Http404(_("Not found."))


@require_GET
def log_list(request: HttpRequest) -> HttpResponse:
    """The filter choices come from here; the rows from GET /api/logs/execution."""
    scripts = (
        selectors.logs_visible_to(user=request.user)
        .exclude(script=None)
        .order_by("script_name", "script_id")
        .values_list("script_id", "script_name")
        .distinct()
    )
    projects = (
        UserProject.objects.filter(user=request.user)
        .select_related("group")
        .order_by("group__directory_name", "name")
    )
    bookmarks = list(
        selectors.logs_visible_to(user=request.user)
        .filter(bookmarked=True)
        .only("execution_uuid", "script_name", "start_time", "note")[:BOOKMARKS_SHOWN]
    )
    return render(
        request,
        "logs/list.html",
        {
            "scripts": list(scripts),
            "projects": projects,
            "statuses": ExecutionLog.Status.choices,
            "bookmarks": bookmarks,
            "config": {
                "statuses": _statuses(),
                "bookmarked": [str(log.execution_uuid) for log in bookmarks],
            },
        },
    )


@require_GET
def log_detail(request: HttpRequest, execution_id: UUID) -> HttpResponse:
    log = _log_get_visible(request, execution_id)
    is_owner = log.user_id == request.user.pk
    script = log.script
    masked = sorted(name for name, value in log.parameters.items() if value == SECRET_MASK)
    can_rerun = is_owner and script is not None and script.is_runnable_by(request.user)
    stop_reasons = dict(ScriptProcess.StopReason.choices)
    parameters = [
        (name, value if isinstance(value, str) else json.dumps(value), name in masked)
        for name, value in log.parameters.items()
    ]
    return render(
        request,
        "logs/detail.html",
        {
            "log": log,
            "script": script,
            "is_owner": is_owner,
            "status_colour": STATUS_COLOURS.get(log.status, "secondary"),
            "stop_reason_label": stop_reasons.get(log.stop_reason, log.stop_reason),
            "parameters": parameters,
            "streams": [("stdout", "output", _("Output")), ("stderr", "errors", _("Errors"))],
            "masked_parameters": masked,
            "can_rerun": can_rerun,
            "can_stop": not log.is_final
            and script is not None
            and (is_owner or user_has_level(request.user, Level.ADMIN)),
            "config": {
                "execution_id": str(log.execution_uuid),
                "bookmarked": log.bookmarked,
                "script_id": log.script_id,
                "project_id": log.project_id,
                "status": log.status,
                "final": log.is_final,
                "parameters": log.parameters,
                "statuses": _statuses(),
                "stop_reasons": {key: str(label) for key, label in stop_reasons.items()},
            },
        },
    )
