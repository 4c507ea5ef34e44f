"""Reads of execution logs, always through the user: own logs, or all for admins."""

from datetime import datetime

from django.db import connection
from django.db.models import Avg, BooleanField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts.levels import Level, user_has_level
from logs.fts import PG_COLUMN
from logs.models import ExecutionLog

SORTABLE = {
    "script": "script_name",
    "project": "project_name",
    "start": "start_time",
    "duration": "duration_seconds",
    "status": "status",
    "user": "username",
}


def logs_visible_to(*, user, everyone: bool = False) -> QuerySet[ExecutionLog]:
    """The user's own logs; with `everyone`, an admin's view of all logs."""
    logs = ExecutionLog.objects.all()
    if everyone and user_has_level(user, Level.ADMIN):
        return logs
    return logs.filter(user=user)


def fts_query(text: str) -> str:
    """User text as an FTS5 query: every word must appear (quoted, so operators
    and punctuation typed by the user are plain text)."""
    words = [w for w in text.split() if w.strip('"')]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def logs_search(logs: QuerySet[ExecutionLog], text: str) -> QuerySet[ExecutionLog]:
    """Narrow `logs` to those whose output, errors, parameters or script name
    contain every word of `text`, through the full-text index."""
    query = fts_query(text)
    if not query:
        return logs
    if connection.vendor == "sqlite":
        return logs.filter(
            id__in=RawSQL(
                "SELECT rowid FROM logs_executionlog_fts WHERE logs_executionlog_fts MATCH %s",
                [query],
            )
        )
    if connection.vendor == "postgresql":
        words = [w for w in text.split() if w.strip('"')]
        matches = " && ".join(["phraseto_tsquery('simple'::regconfig, %s)"] * len(words))
        # On the table itself, not through a subquery, so the planner weighs
        # the index against walking the newest logs with the words' statistics.
        sql = f'"logs_executionlog"."{PG_COLUMN}" @@ ({matches})'
        found = RawSQL(sql, words, output_field=BooleanField())  # noqa: S611
        return logs.alias(text_found=found).filter(text_found=True)
    condition = Q()
    for word in text.split():
        condition &= (
            Q(output__icontains=word)
            | Q(error_output__icontains=word)
            | Q(script_name__icontains=word)
            | Q(parameters__icontains=word)
        )
    return logs.filter(condition)


def logs_filter(
    logs: QuerySet[ExecutionLog],
    *,
    script_id: int | None = None,
    project_id: int | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_duration: float | None = None,
    max_duration: float | None = None,
    text: str | None = None,
    sort: str = "-start",
) -> QuerySet[ExecutionLog]:
    if script_id is not None:
        logs = logs.filter(script_id=script_id)
    if project_id is not None:
        logs = logs.filter(project_id=project_id)
    if status:
        logs = logs.filter(status=status)
    if since:
        logs = logs.filter(start_time__gte=since)
    if until:
        logs = logs.filter(start_time__lt=until)
    if min_duration is not None:
        logs = logs.filter(duration_seconds__gte=min_duration)
    if max_duration is not None:
        logs = logs.filter(duration_seconds__lte=max_duration)
    if text:
        logs = logs_search(logs, text)
    field = SORTABLE.get(sort.lstrip("-"), "start_time")
    order = f"-{field}" if sort.startswith("-") else field
    return logs.order_by(order, "-id")


def logs_stats(*, user) -> dict:
    logs = ExecutionLog.objects.filter(user=user)
    totals = logs.aggregate(
        total=Count("id"),
        completed=Count("id", filter=Q(status=ExecutionLog.Status.COMPLETED)),
        finished=Count("id", filter=Q(status__in=ExecutionLog.FINAL)),
        average=Avg("duration_seconds"),
    )
    scripts = list(
        logs.values("script_id", "script_name").annotate(runs=Count("id")).order_by("-runs")[:5]
    )
    projects = list(
        logs.values("project_id", "project_name").annotate(runs=Count("id")).order_by("-runs")[:5]
    )
    finished = totals["finished"] or 0
    return {
        "total": totals["total"],
        "success_rate": round(totals["completed"] / finished, 4) if finished else None,
        "average_duration_seconds": totals["average"],
        "most_used_scripts": scripts,
        "most_used_projects": projects,
    }
