"""Live logs over WebSocket (DESIGN §6).

A run's output goes straight from the script to files under LOGS_DIR, and the
supervisor that finalizes runs is another process, so the consumers here tail
those files and poll the database rather than wait for channel-layer events:
that works across processes and workers, and a viewer who connects late, or
reconnects, simply starts reading at an earlier byte offset.

`ws/logs/<execution_uuid>/?stdout=<n>&stderr=<m>` (`offset` is an alias for
`stdout`) sends, in order for each stream,

    {"type": "output", "stream": "stdout" | "stderr", "data": str, "offset": int}

where `offset` is the byte offset in that stream just after `data`: a client
that reconnects with those offsets continues with no gap and no duplicate.
Once the run has ended and both files are drained it sends

    {"type": "end", "status", "exit_code", "stop_reason", "duration_seconds",
     "offsets": {"stdout": int, "stderr": int}}

and closes with 1000. `ws/logs/user/` sends the user's own running executions
(`snapshot`), then a `status` message whenever one of their executions changes.
"""

import asyncio
import codecs
import contextlib
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs
from uuid import UUID

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import connections
from django.utils import timezone

from logs.models import ExecutionLog
from logs.selectors import logs_visible_to

logger = logging.getLogger(__name__)

# Close codes of our own (the same as the interface proxy's), sent before accept.
CLOSE_BAD_REQUEST = 4400
CLOSE_LOGIN_REQUIRED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_NORMAL = 1000
# 1011 would be the standard code, but daphne only sends 1000 or 3000-4999.
# Clients reconnect after this one (it is not a refusal).
CLOSE_SERVER_ERROR = 4500
# What sending to a viewer that just left raises: daphne's (autobahn's) error,
# or an OSError under servers that follow the ASGI spec's advice.
CLIENT_GONE = (Disconnected, OSError)

STREAMS = ("stdout", "stderr")
# How often a viewer looks for new output, and the most one message carries:
# a flood of output becomes a few large messages a second, not one per line.
TICK_SECONDS = 0.1
CHUNK_BYTES = 256 * 1024
# The run's row is re-read every this many ticks to notice its end.
STATUS_EVERY_TICKS = 5
USER_POLL_SECONDS = 0.5
# `last_updated` is stamped before the row is committed, so a poll looks this
# far back to catch rows committed late; the ones already reported are skipped.
USER_POLL_OVERLAP = timedelta(seconds=5)
LIVE_STATUSES = (ExecutionLog.Status.STARTING, ExecutionLog.Status.RUNNING)


def _execution_for_viewer(*, user, execution_uuid: UUID) -> ExecutionLog | None:
    """The execution if `user` may watch it (its owner, or an admin), else None."""
    return logs_visible_to(user=user, everyone=True).filter(execution_uuid=execution_uuid).first()


def _execution_reload(pk: int) -> ExecutionLog | None:
    return (
        ExecutionLog.objects.filter(pk=pk)
        .only(
            "status",
            "exit_code",
            "stop_reason",
            "duration_seconds",
            "stdout_path",
            "stderr_path",
        )
        .first()
    )


def _offsets_from_query(query_string: bytes) -> dict[str, int] | None:
    """Starting byte offsets per stream from `?stdout=&stderr=` (`offset` being
    an alias for stdout); None when a value is not a non-negative integer."""
    query = parse_qs(query_string.decode("latin-1"))
    offsets = dict.fromkeys(STREAMS, 0)
    for key, stream in (("offset", "stdout"), ("stdout", "stdout"), ("stderr", "stderr")):
        if key in query:
            value = query[key][-1]
            if not value.isascii() or not value.isdigit():
                return None
            offsets[stream] = int(value)
    return offsets


def _read(path: Path | None, offset: int, size: int) -> bytes:
    """Up to `size` bytes of `path` from `offset`; a file not there yet is empty."""
    if path is None:
        return b""
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read(size)
    except FileNotFoundError:
        return b""


def _decode_complete(data: bytes, *, final: bool) -> tuple[str, int]:
    """(text, bytes used). Unless `final`, a trailing incomplete UTF-8 sequence
    is left out of both: it is read again, whole, once the rest is written.
    Invalid bytes become U+FFFD."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(data, final=final)
    held_back, _ = decoder.getstate()
    return text, len(data) - len(held_back)


def _log_path(relative: str) -> Path | None:
    return Path(settings.LOGS_DIR) / relative if relative else None


class FileTailingConsumer(AsyncJsonWebsocketConsumer):
    """A consumer fed by files and the database only. It joins no channel
    layer: with Redis, an outage of the layer would otherwise close every
    viewer's socket although nothing it shows comes through Redis."""

    channel_layer_alias = "none: these consumers use no channel layer"

    async def __call__(self, scope, receive, send) -> None:
        # A thread of its own for this connection's database reads (as Django
        # gives each request): outside a context, every viewer's polling and
        # the interface proxy's look-ups queue on the process's one thread.
        async with ThreadSensitiveContext():
            try:
                await super().__call__(scope, receive, send)
            finally:
                # The context's thread ends here: a connection it still holds
                # would never go back to the pool.
                await sync_to_async(connections.close_all)()


class ExecutionLogConsumer(FileTailingConsumer):
    """One viewer of one run's output: tails its two files from the offsets
    the client asked for until the run has ended, then sends `end`."""

    async def connect(self) -> None:
        self.streaming: asyncio.Task | None = None
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(code=CLOSE_LOGIN_REQUIRED)
            return
        execution = await database_sync_to_async(_execution_for_viewer)(
            user=user, execution_uuid=self.scope["url_route"]["kwargs"]["execution_uuid"]
        )
        if execution is None:
            # Someone else's run gets the same answer as a missing one.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        offsets = _offsets_from_query(self.scope.get("query_string", b""))
        if offsets is None:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.execution_pk = execution.pk
        self.offsets = offsets
        self.paths = {
            "stdout": _log_path(execution.stdout_path),
            "stderr": _log_path(execution.stderr_path),
        }
        await self.accept()
        self.streaming = asyncio.create_task(self._stream())

    async def disconnect(self, code: int) -> None:
        if self.streaming is not None:
            self.streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.streaming
            self.streaming = None

    async def receive_json(self, content, **kwargs) -> None:
        """Viewers only listen; anything they send is ignored."""

    @classmethod
    async def encode_json(cls, content) -> str:
        return json.dumps(content, ensure_ascii=False)

    async def _stream(self) -> None:
        try:
            tick = 0
            while True:
                execution = None
                if tick % STATUS_EVERY_TICKS == 0:
                    execution = await database_sync_to_async(_execution_reload)(self.execution_pk)
                    if execution is None:  # deleted by retention while watched
                        await self.close(code=CLOSE_NOT_FOUND)
                        return
                    # Paths are recorded just after the row is created.
                    self.paths = {
                        "stdout": _log_path(execution.stdout_path),
                        "stderr": _log_path(execution.stderr_path),
                    }
                # Final is only seen after every writer has gone, so reading
                # after seeing it gets everything the run ever wrote.
                final = execution is not None and execution.is_final
                await self._send_new_output(final=final)
                if final:
                    await self.send_json(
                        {
                            "type": "end",
                            "status": execution.status,
                            "exit_code": execution.exit_code,
                            "stop_reason": execution.stop_reason,
                            "duration_seconds": execution.duration_seconds,
                            "offsets": dict(self.offsets),
                        }
                    )
                    await self.close(code=CLOSE_NORMAL)
                    return
                tick += 1
                await asyncio.sleep(TICK_SECONDS)
        except CLIENT_GONE:
            return  # the viewer left while we were sending: nothing to report
        except Exception:
            logger.exception("Streaming the log of execution %s failed", self.execution_pk)
            await self.close(code=CLOSE_SERVER_ERROR)

    async def _send_new_output(self, *, final: bool) -> None:
        """Send everything written since the last call, in chunks of at most
        CHUNK_BYTES per stream; a backlog goes out back to back, the streams
        taking turns. When `final`, the files are read to their end."""
        pending = list(STREAMS)
        while pending:
            pending = [stream for stream in pending if await self._send_chunk(stream, final=final)]
            if pending:
                await asyncio.sleep(0)

    async def _send_chunk(self, stream: str, *, final: bool) -> bool:
        """Send the next chunk of `stream`, if any; True when the chunk was
        full, so more may be waiting."""
        data = await asyncio.to_thread(_read, self.paths[stream], self.offsets[stream], CHUNK_BYTES)
        full = len(data) == CHUNK_BYTES
        text, used = _decode_complete(data, final=final and not full)
        if used:
            self.offsets[stream] += used
            await self.send_json(
                {"type": "output", "stream": stream, "data": text, "offset": self.offsets[stream]}
            )
        return full


def _isoformat(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _user_snapshot(*, user) -> list[dict]:
    running = (
        logs_visible_to(user=user).filter(status__in=LIVE_STATUSES).order_by("start_time", "pk")
    )
    return [
        {
            "execution_id": str(execution.execution_uuid),
            "script_name": execution.script_name,
            "project_name": execution.project_name,
            "status": execution.status,
            "start_time": _isoformat(execution.start_time),
        }
        for execution in running
    ]


def _user_changes(
    *, user, since: datetime, known: dict[int, tuple]
) -> tuple[list[dict], dict[int, tuple]]:
    """Status messages for the user's executions updated since `since` whose
    (status, exit code, stop reason) differ from `known`; and the new `known`."""
    changes, current = [], {}
    rows = (
        logs_visible_to(user=user)
        .filter(last_updated__gte=since)
        .order_by("last_updated", "pk")
        .values("pk", "execution_uuid", "script_name", "status", "exit_code", "stop_reason")
    )
    for row in rows:
        state = (row["status"], row["exit_code"], row["stop_reason"])
        current[row["pk"]] = state
        if known.get(row["pk"]) != state:
            changes.append(
                {
                    "type": "status",
                    "execution_id": str(row["execution_uuid"]),
                    "script_name": row["script_name"],
                    "status": row["status"],
                    "exit_code": row["exit_code"],
                    "stop_reason": row["stop_reason"],
                }
            )
    return changes, current


class UserLogsConsumer(FileTailingConsumer):
    """The user's own executions (admins too see only theirs here): a snapshot
    of the running ones, then their status changes."""

    async def connect(self) -> None:
        self.polling: asyncio.Task | None = None
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(code=CLOSE_LOGIN_REQUIRED)
            return
        self.since = timezone.now() - USER_POLL_OVERLAP
        _, self.known = await database_sync_to_async(_user_changes)(
            user=user, since=self.since, known={}
        )
        snapshot = await database_sync_to_async(_user_snapshot)(user=user)
        await self.accept()
        await self.send_json({"type": "snapshot", "executions": snapshot})
        self.polling = asyncio.create_task(self._poll(user))

    async def disconnect(self, code: int) -> None:
        if self.polling is not None:
            self.polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.polling
            self.polling = None

    async def receive_json(self, content, **kwargs) -> None:
        """Listeners only; anything they send is ignored."""

    async def _poll(self, user) -> None:
        try:
            while True:
                await asyncio.sleep(USER_POLL_SECONDS)
                started = timezone.now()
                changes, self.known = await database_sync_to_async(_user_changes)(
                    user=user, since=self.since, known=self.known
                )
                self.since = started - USER_POLL_OVERLAP
                for change in changes:
                    await self.send_json(change)
        except CLIENT_GONE:
            return
        except Exception:
            logger.exception("Streaming the executions of user %s failed", user.pk)
            await self.close(code=CLOSE_SERVER_ERROR)
