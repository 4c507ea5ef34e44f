from datetime import datetime

from django.db.models import QuerySet

from accounts.models import AuditEvent


def audit_events(
    *,
    action: str | None = None,
    username: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events, newest first, narrowed by whichever filters are given."""
    events = AuditEvent.objects.all()
    if action:
        events = events.filter(action=action)
    if username:
        events = events.filter(actor_username__iexact=username)
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    return events
