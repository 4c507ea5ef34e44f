"""Live logs over WebSocket: real scripts under their runner, the real ASGI
application (origin check, session auth, routing) and WebsocketCommunicator."""

import asyncio
import contextlib
import functools
import json
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from execution.services import execution_start, executions_reconcile
from logs.consumers import CHUNK_BYTES
from logs.models import ExecutionLog
from scriptsmanager.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 30
HOST = "localhost"
ORIGIN = "http://localhost"

SLOW = """
import sys, time
for i in range(5):
    print(f"tick {i} {time.time()!r}", flush=True)
    time.sleep(0.4)
"""
BOTH_STREAMS_SLOWLY = """
import sys, time
for i in range(40):
    print(f"out {i}", flush=True)
    print(f"err {i}", file=sys.stderr, flush=True)
    time.sleep(0.05)
"""
FLOOD = """
for i in range(200_000):
    print(f"flood line {i}")
"""
MULTIBYTE = """
import sys, time
out = sys.stdout.buffer
emoji = "😀".encode()
out.write(emoji[:2]); out.flush()
time.sleep(0.35)  # several ticks with half a character in the file
out.write(emoji[2:]); out.flush()
payload = ("é€😀" * 200).encode()
for start in range(0, len(payload), 7):
    out.write(payload[start:start + 7]); out.flush()
    time.sleep(0.005)
"""


def async_test(test):
    """Run an async test in one event loop; database_sync_to_async then runs in
    the test's own thread, on the test database."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        async_to_sync(test)(*args, **kwargs)

    return run


@pytest.fixture
def cookie_of(personas, client_for):
    """cookie_of("op_otto") -> a Cookie header carrying that persona's session."""
    sessions = {
        name: client_for(name).cookies[settings.SESSION_COOKIE_NAME].value for name in personas
    }
    return lambda name: f"{settings.SESSION_COOKIE_NAME}={sessions[name]}"


def socket(path: str, cookie: str | None = None, origin: str = ORIGIN) -> WebsocketCommunicator:
    # As a browser's handshake: the origin check compares Origin with Host.
    headers = [(b"host", HOST.encode()), (b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def opened(path: str, cookie: str) -> WebsocketCommunicator:
    communicator = socket(path, cookie)
    connected, code = await communicator.connect(TIMEOUT)
    assert connected, code
    return communicator


async def next_message(communicator: WebsocketCommunicator) -> dict:
    """The next JSON message, or {"type": "closed", "code": ...}."""
    output = await communicator.receive_output(TIMEOUT)
    if output["type"] == "websocket.close":
        return {"type": "closed", "code": output.get("code", 1000)}
    assert output["type"] == "websocket.send", output
    return json.loads(output["text"])


async def until_end(communicator: WebsocketCommunicator) -> list[dict]:
    """Every message up to and including `end`; the socket then closes normally."""
    messages = []
    while True:
        message = await next_message(communicator)
        assert message["type"] in ("output", "end"), message
        messages.append(message)
        if message["type"] == "end":
            break
    assert await next_message(communicator) == {"type": "closed", "code": 1000}
    await communicator.disconnect()
    return messages


@contextlib.asynccontextmanager
async def supervisor():
    """Finalize ended runs in the background, as the supervisor process does."""
    stop = asyncio.Event()

    async def loop():
        while not stop.is_set():
            await database_sync_to_async(executions_reconcile)()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await task


async def start(script, user) -> ExecutionLog:
    launch = await database_sync_to_async(execution_start)(script=script, user=user, params={})
    return launch.execution


async def status_of(execution: ExecutionLog) -> str:
    return await database_sync_to_async(
        lambda: ExecutionLog.objects.values_list("status", flat=True).get(pk=execution.pk)
    )()


def log_path(execution: ExecutionLog) -> str:
    return f"/ws/logs/{execution.execution_uuid}/"


def written(execution: ExecutionLog, stream: str) -> bytes:
    return (Path(settings.LOGS_DIR) / getattr(execution, f"{stream}_path")).read_bytes()


def joined(messages: list[dict], stream: str) -> str:
    return "".join(m["data"] for m in messages if m["type"] == "output" and m["stream"] == stream)


def assert_offsets_follow_the_data(messages: list[dict], start: dict | None = None) -> None:
    """Each offset is where the previous one was plus the bytes of this data:
    no character was split, and `end` reports where both streams stopped."""
    position = dict(start or {"stdout": 0, "stderr": 0})
    for message in messages[:-1]:
        position[message["stream"]] += len(message["data"].encode())
        assert message["offset"] == position[message["stream"]]
    assert messages[-1]["offsets"] == position


def finished_run(personas, name="op_otto") -> ExecutionLog:
    """A run that has ended and wrote nothing (its files were never created)."""
    return ExecutionLog.objects.create(
        user=personas[name],
        username=name,
        script_name="done.py",
        project_name="project_default",
        status=ExecutionLog.Status.COMPLETED,
        exit_code=0,
        stop_reason="exited",
        duration_seconds=0.5,
    )


@async_test
async def test_it_refuses_anonymous_visitors(personas):
    run = await database_sync_to_async(finished_run)(personas)
    for path in (log_path(run), "/ws/logs/user/"):
        communicator = socket(path)
        assert await communicator.connect(TIMEOUT) == (False, 4401)
        await communicator.disconnect()


@async_test
async def test_it_refuses_another_users_log_like_a_missing_one(personas, cookie_of):
    run = await database_sync_to_async(finished_run)(personas)
    for name, path in (
        ("op_olga", log_path(run)),
        ("op_otto", "/ws/logs/7d4f3c2e-0000-4000-8000-000000000000/"),
    ):
        communicator = socket(path, cookie_of(name))
        assert await communicator.connect(TIMEOUT) == (False, 4404)
        assert await communicator.receive_nothing(0.3)
        await communicator.disconnect()


@async_test
async def test_an_admin_may_watch_any_run_and_the_owner_their_own(personas, cookie_of):
    run = await database_sync_to_async(finished_run)(personas)
    for name in ("ada_admin", "op_otto"):
        messages = await until_end(await opened(log_path(run), cookie_of(name)))
        assert messages == [
            {
                "type": "end",
                "status": "completed",
                "exit_code": 0,
                "stop_reason": "exited",
                "duration_seconds": 0.5,
                "offsets": {"stdout": 0, "stderr": 0},
            }
        ]


@async_test
async def test_a_foreign_origin_is_refused_before_the_consumer(personas, cookie_of):
    run = await database_sync_to_async(finished_run)(personas)
    communicator = socket(log_path(run), cookie_of("op_otto"), origin="http://evil.example")
    connected, _ = await communicator.connect(TIMEOUT)
    assert not connected
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


@async_test
async def test_a_bad_offset_is_refused(personas, cookie_of):
    run = await database_sync_to_async(finished_run)(personas)
    for query in ("stdout=-1", "stderr=x", "offset=1.5"):
        communicator = socket(f"{log_path(run)}?{query}", cookie_of("op_otto"))
        assert await communicator.connect(TIMEOUT) == (False, 4400)
        await communicator.disconnect()


@async_test
async def test_a_late_joiner_gets_the_backlog_in_order_then_the_end(
    make_script, personas, cookie_of
):
    script = await database_sync_to_async(make_script)(
        "backlog.py",
        "import sys\nfor i in range(60_000):\n    print(f'line {i:06d}')\n"
        "    if i % 1000 == 0:\n        print(f'err {i}', file=sys.stderr)\n",
        interface="false",
    )
    run = await start(script, personas["op_otto"])
    async with supervisor():
        while await status_of(run) == "running":
            await asyncio.sleep(0.1)
    assert await status_of(run) == "completed"

    messages = await until_end(await opened(log_path(run), cookie_of("op_otto")))
    assert joined(messages, "stdout") == "".join(f"line {i:06d}\n" for i in range(60_000))
    assert joined(messages, "stderr") == "".join(f"err {i}\n" for i in range(0, 60_000, 1000))
    assert_offsets_follow_the_data(messages)
    # 720 000 bytes of backlog: three chunks at most 256 KiB each.
    stdout_messages = [m for m in messages if m.get("stream") == "stdout"]
    assert len(stdout_messages) == -(-len(written(run, "stdout")) // CHUNK_BYTES) == 3
    assert messages[-1]["status"] == "completed" and messages[-1]["exit_code"] == 0


@async_test
async def test_output_arrives_live_before_the_end(make_script, personas, cookie_of):
    script = await database_sync_to_async(make_script)("slow.py", SLOW, interface="false")
    run = await start(script, personas["op_otto"])
    communicator = await opened(log_path(run), cookie_of("op_otto"))
    messages, received, delays = [], [], []
    async with supervisor():
        while (message := await next_message(communicator))["type"] == "output":
            messages.append(message)
            received.append(await status_of(run))
            for line in message["data"].splitlines():
                delays.append(time.time() - float(line.split()[2]))
        assert message["type"] == "end"
        assert await next_message(communicator) == {"type": "closed", "code": 1000}
    await communicator.disconnect()
    assert joined(messages, "stdout").encode() == written(run, "stdout")
    assert len(messages) >= 4 and received[:4] == ["running"] * 4
    assert max(delays) < 2


@async_test
async def test_a_flood_arrives_whole_in_few_messages(make_script, personas, cookie_of):
    script = await database_sync_to_async(make_script)("flood.py", FLOOD, interface="false")
    run = await start(script, personas["op_otto"])
    communicator = await opened(log_path(run), cookie_of("op_otto"))
    async with supervisor():
        messages = await until_end(communicator)
    assert joined(messages, "stdout").encode() == written(run, "stdout")
    assert joined(messages, "stdout").count("\n") == 200_000
    assert len(messages) < 2_000
    assert_offsets_follow_the_data(messages)


@async_test
async def test_a_viewer_resumes_at_its_offsets_without_gap_or_duplicate(
    make_script, personas, cookie_of
):
    script = await database_sync_to_async(make_script)(
        "both.py", BOTH_STREAMS_SLOWLY, interface="false"
    )
    run = await start(script, personas["op_otto"])
    cookie = cookie_of("op_otto")
    first = await opened(log_path(run), cookie)
    before, offsets = [], {}
    while len(offsets) < 2:
        message = await next_message(first)
        assert message["type"] == "output"
        before.append(message)
        offsets[message["stream"]] = message["offset"]
    await first.disconnect()
    assert 0 < offsets["stdout"] < 200 and 0 < offsets["stderr"] < 200

    resumed = await opened(
        f"{log_path(run)}?stdout={offsets['stdout']}&stderr={offsets['stderr']}", cookie
    )
    async with supervisor():
        after = await until_end(resumed)
    assert_offsets_follow_the_data(after, start=offsets)
    for stream in ("stdout", "stderr"):
        whole = joined(before, stream) + joined(after, stream)
        assert whole.encode() == written(run, stream)
        assert whole.count("\n") == 40

    alias = await until_end(await opened(f"{log_path(run)}?offset=4", cookie))
    assert joined(alias, "stdout").encode() == written(run, "stdout")[4:]
    assert joined(alias, "stderr").encode() == written(run, "stderr")


@async_test
async def test_multibyte_characters_are_never_split(make_script, personas, cookie_of):
    script = await database_sync_to_async(make_script)("unicode.py", MULTIBYTE, interface="false")
    run = await start(script, personas["op_otto"])
    communicator = await opened(log_path(run), cookie_of("op_otto"))
    async with supervisor():
        messages = await until_end(communicator)
    assert len(messages) > 5  # it did arrive in pieces
    assert not any("\ufffd" in m.get("data", "") for m in messages)
    assert joined(messages, "stdout") == "😀" + "é€😀" * 200
    assert_offsets_follow_the_data(messages)


@async_test
async def test_an_incomplete_character_at_the_very_end_is_replaced(
    make_script, personas, cookie_of
):
    script = await database_sync_to_async(make_script)(
        "cut.py", "import sys\nsys.stdout.buffer.write(b'ok \\xe2\\x82')\n", interface="false"
    )
    run = await start(script, personas["op_otto"])
    communicator = await opened(log_path(run), cookie_of("op_otto"))
    async with supervisor():
        messages = await until_end(communicator)
    assert joined(messages, "stdout") == "ok \ufffd"
    assert messages[-1]["offsets"] == {"stdout": 5, "stderr": 0}


@async_test
async def test_two_viewers_each_get_the_whole_stream(make_script, personas, cookie_of):
    script = await database_sync_to_async(make_script)(
        "both.py", BOTH_STREAMS_SLOWLY, interface="false"
    )
    run = await start(script, personas["op_otto"])
    owner = await opened(log_path(run), cookie_of("op_otto"))
    admin = await opened(log_path(run), cookie_of("ada_admin"))
    async with supervisor():
        seen = await asyncio.gather(until_end(owner), until_end(admin))
    for messages in seen:
        for stream in ("stdout", "stderr"):
            assert joined(messages, stream).encode() == written(run, stream)
        assert messages[-1]["status"] == "completed"


@async_test
async def test_the_user_stream_sends_a_snapshot_then_status_changes(
    make_script, personas, cookie_of
):
    script = await database_sync_to_async(make_script)(
        "nap.py", "import time\ntime.sleep(1)\n", interface="false"
    )
    mine = await start(script, personas["op_otto"])
    theirs = await start(script, personas["op_olga"])
    otto = await opened("/ws/logs/user/", cookie_of("op_otto"))
    admin = await opened("/ws/logs/user/", cookie_of("ada_admin"))

    snapshot = await next_message(otto)
    assert snapshot["type"] == "snapshot"
    assert [(e["execution_id"], e["script_name"], e["status"]) for e in snapshot["executions"]] == [
        (str(mine.execution_uuid), "nap.py", "running")
    ]
    assert snapshot["executions"][0]["start_time"]
    assert await next_message(admin) == {"type": "snapshot", "executions": []}

    async with supervisor():
        change = await next_message(otto)
        while await status_of(theirs) == "running":
            await asyncio.sleep(0.1)
    assert change == {
        "type": "status",
        "execution_id": str(mine.execution_uuid),
        "script_name": "nap.py",
        "status": "completed",
        "exit_code": 0,
        "stop_reason": "exited",
    }
    assert await otto.receive_nothing(1.0)  # nothing of olga's, nothing twice
    assert await admin.receive_nothing(0.1)
    await otto.disconnect()
    await admin.disconnect()


@async_test
async def test_an_origin_on_another_port_or_scheme_of_the_host_is_refused(personas, cookie_of):
    # A page of another script's interface (its own port), or the plain-http twin
    # of an https site, is not the manager even on the same host name.
    for origin in ("http://localhost:5201", "https://localhost", "null", "http://localhost.evil"):
        communicator = socket("/ws/logs/user/", cookie_of("op_otto"), origin=origin)
        connected, _ = await communicator.connect(TIMEOUT)
        assert (origin, connected) == (origin, False)
        await communicator.disconnect()
    communicator = await opened("/ws/logs/user/", cookie_of("op_otto"))
    await communicator.disconnect()


@async_test
async def test_a_trusted_origin_is_let_in(personas, cookie_of, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://scripts.example.com"]
    communicator = socket(
        "/ws/logs/user/", cookie_of("op_otto"), origin="https://scripts.example.com"
    )
    connected, _ = await communicator.connect(TIMEOUT)
    assert connected
    await communicator.disconnect()


@async_test
async def test_one_socket_over_the_users_allowance_is_closed_with_4429(
    personas, cookie_of, settings
):
    settings.WEBSOCKETS_PER_USER = 2
    held = [await opened("/ws/logs/user/", cookie_of("op_otto")) for _ in range(2)]
    extra = socket("/ws/logs/user/", cookie_of("op_otto"))
    assert (await extra.connect(TIMEOUT))[0]
    closed = await extra.receive_output(TIMEOUT)
    assert (closed["type"], closed["code"], closed["reason"]) == (
        "websocket.close",
        4429,
        "too many connections",
    )
    # Another user's allowance is their own.
    other = await opened("/ws/logs/user/", cookie_of("op_olga"))
    await other.disconnect()
    # A socket that closes gives its slot back.
    await held.pop().disconnect()
    again = await opened("/ws/logs/user/", cookie_of("op_otto"))
    assert (await next_message(again))["type"] == "snapshot"
    for communicator in (again, *held):
        await communicator.disconnect()
