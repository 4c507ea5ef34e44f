"""Reads about running scripts and their ports."""

import psutil
from django.conf import settings


def ports_listening_in_range() -> int:
    """How many ports of the script range something is listening on right now."""
    low, high = settings.PORT_RANGE_START, settings.PORT_RANGE_END
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.Error:
        return 0
    return len(
        {
            c.laddr.port
            for c in connections
            if c.status == psutil.CONN_LISTEN and low <= c.laddr.port <= high
        }
    )


def port_usage() -> dict[str, int]:
    total = settings.PORT_RANGE_END - settings.PORT_RANGE_START + 1
    in_use = ports_listening_in_range()
    return {
        "range_start": settings.PORT_RANGE_START,
        "range_end": settings.PORT_RANGE_END,
        "total": total,
        "in_use": in_use,
        "free": total - in_use,
    }
