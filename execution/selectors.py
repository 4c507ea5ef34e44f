"""Reads about running scripts and their ports."""

import psutil
from channels.db import database_sync_to_async
from django.conf import settings

from accounts.levels import Level, user_has_level
from execution.interface_proofs import interface_proof_user_id, interface_segment_split
from execution.models import ScriptProcess
from execution.proxy import InterfaceTarget


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


def processes_visible_to(*, user):
    """Script processes of the user; administrators see all."""
    processes = ScriptProcess.objects.select_related("execution", "script")
    if user_has_level(user, Level.ADMIN):
        return processes
    return processes.filter(user=user)


def interface_for_token(token: str):
    """The live interface process with this per-launch token, or None."""
    return (
        ScriptProcess.objects.select_related("execution", "script", "script__group")
        .filter(tab_session_id=token, has_interface=True)
        .exclude(status=ScriptProcess.Status.ENDED)
        .first()
    )


def active_script_count() -> int:
    return ScriptProcess.objects.exclude(status=ScriptProcess.Status.ENDED).count()


def interfaces_of(*, user) -> list[ScriptProcess]:
    """The user's running interfaces, newest first."""
    return list(
        ScriptProcess.objects.select_related("execution", "script")
        .filter(user=user, has_interface=True)
        .exclude(status=ScriptProcess.Status.ENDED)
        .order_by("-started_at")
    )


def interface_frame_proof_holds(segment: str) -> bool:
    """True when the URL segment "<token>.<proof>" names a live interface and
    carries a proof of a live session that may use it."""
    token, proof = interface_segment_split(segment)
    process = interface_for_token(token) if proof else None
    return process is not None and interface_proof_user_id(process=process, proof=proof) is not None


@database_sync_to_async
def interface_target(segment: str) -> InterfaceTarget | None:
    """The proxy's lookup of the URL segment "<token>" or "<token>.<proof>":
    where a live interface listens, whose it is, and whom the proof speaks for."""
    token, proof = interface_segment_split(segment)
    process = interface_for_token(token)
    if process is None or process.flask_port is None:
        return None
    proven_for = interface_proof_user_id(process=process, proof=proof) if proof else None
    return InterfaceTarget(
        port=process.flask_port, owner_id=process.user_id, token=token, proven_for=proven_for
    )
