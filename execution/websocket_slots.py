"""Open WebSockets per user, counted across every web worker and process.

Each open socket (a live-log viewer, a proxied interface's socket) holds a row
of OpenWebSocket while it lasts; a user may hold WEBSOCKETS_PER_USER of them.
One more is accepted and closed at once with CLOSE_TOO_MANY ("too many
connections"): a close before the accept would reach the browser as a bare
HTTP 403 without the code. Rows of a worker that died without closing its
sockets are recognised by its pid and start time, and dropped.
"""

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psutil
from channels.db import database_sync_to_async
from django.conf import settings

from execution.models import OpenWebSocket
from execution.proxy import CLOSE_TOO_MANY, TOO_MANY_REASON

_HOST = socket.gethostname()


def _process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _holder_alive(host: str, pid: int, started: float) -> bool:
    if host != _HOST:
        return True  # another machine's worker: it cannot be checked from here
    now_started = _process_started(pid)
    return now_started is not None and abs(now_started - started) < 1.0


def websocket_slot_take(*, user_id: int) -> tuple[int, bool]:
    """(slot id, allowed). Taken first and counted after, so two workers racing
    for the user's last slot cannot both get it: the older row wins."""
    pid = os.getpid()
    slot = OpenWebSocket.objects.create(
        user_id=user_id, host=_HOST, pid=pid, pid_started=_process_started(pid) or 0.0
    )
    holders = OpenWebSocket.objects.filter(user_id=user_id, id__lte=slot.id).values_list(
        "id", "host", "pid", "pid_started"
    )
    dead = [row[0] for row in holders if not _holder_alive(*row[1:])]
    if dead:
        OpenWebSocket.objects.filter(id__in=dead).delete()
    held = OpenWebSocket.objects.filter(user_id=user_id, id__lte=slot.id).count()
    if held > settings.WEBSOCKETS_PER_USER:
        slot.delete()
        return slot.id, False
    return slot.id, True


def websocket_slot_release(*, slot_id: int) -> None:
    OpenWebSocket.objects.filter(id=slot_id).delete()


@contextlib.asynccontextmanager
async def websocket_slot(user_id: int) -> AsyncIterator[bool]:
    """Holds one of the user's slots while the block runs; yields False (and
    holds nothing) when they have none left."""
    slot_id, allowed = await database_sync_to_async(websocket_slot_take)(user_id=user_id)
    try:
        yield allowed
    finally:
        if allowed:
            # Even when the socket's task is being cancelled.
            await asyncio.shield(database_sync_to_async(websocket_slot_release)(slot_id=slot_id))


ASGIApp = Callable[[dict[str, Any], Callable, Callable], Awaitable[None]]


class WebSocketAllowance:
    """ASGI middleware (inside AuthMiddlewareStack) counting a signed-in user's
    WebSockets; anonymous ones pass on, for the routes to refuse."""

    def __init__(self, application: ASGIApp) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        user = scope.get("user")
        if scope["type"] != "websocket" or user is None or not user.is_authenticated:
            await self.application(scope, receive, send)
            return
        async with websocket_slot(user.pk) as allowed:
            if allowed:
                await self.application(scope, receive, send)
                return
            if (await receive())["type"] != "websocket.connect":
                return
            await send({"type": "websocket.accept"})
            await send(
                {"type": "websocket.close", "code": CLOSE_TOO_MANY, "reason": TOO_MANY_REASON}
            )
