"""Port allocation: a database row per live port plus a bind test, so two
launches (in any worker) never get the same port and ports used by other
programs are skipped."""

import socket

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from execution.models import PortAllocation


class PortsExhausted(Exception):
    """Every port of the range is taken."""


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port and it can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_allocate(
    *, script, user, project, execution, preferred: int | None = None
) -> PortAllocation:
    """Take a free port (the preferred one first when it is free) for `execution`.

    Raises PortsExhausted when none is left.
    """
    live = set(
        PortAllocation.objects.exclude(status=PortAllocation.Status.RELEASED).values_list(
            "port_number", flat=True
        )
    )
    candidates = list(range(settings.PORT_RANGE_START, settings.PORT_RANGE_END + 1))
    if preferred:
        candidates.insert(0, preferred)
    for port in candidates:
        if port in live or not port_is_free(port):
            continue
        try:
            with transaction.atomic():
                return PortAllocation.objects.create(
                    port_number=port, script=script, user=user, project=project, execution=execution
                )
        except IntegrityError:
            continue  # another launch took it between our read and our insert
    raise PortsExhausted


def port_release(*, execution) -> int:
    """Release every live port of the execution; returns how many."""
    return (
        PortAllocation.objects.filter(execution=execution)
        .exclude(status=PortAllocation.Status.RELEASED)
        .update(status=PortAllocation.Status.RELEASED, released_at=timezone.now())
    )
