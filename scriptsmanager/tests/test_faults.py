"""Faults the installation rides out: Redis restarted under open log streams,
PostgreSQL restarted while idle, a web worker killed in the middle of a
request. Each test runs the app on its own throw-away PostgreSQL and Redis (so
it means the same on the SQLite pass of the suite as on the PostgreSQL one)
and ends with every execution recorded with a final status and no port held."""

import asyncio
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psutil
import psycopg
import websockets
from django.conf import settings

from scriptsmanager.localservices import PostgresServer, RedisServer
from scriptsmanager.testing import ApiSession, app_env, run_async, running_app

TICKS = 400  # one every 20 ms: about 8 s of output
TICKER = f'''"""
@required_level: viewer
@interface: false
"""
import time
for i in range({TICKS}):
    print(f"tick {{i}}", flush=True)
    time.sleep(0.02)
'''

QUICK = '''"""
@required_level: viewer
@interface: false
"""
print("quick done", flush=True)
'''

# An interface with a slow endpoint that shuts down gracefully on SIGTERM, as a
# server draining its connections does, taking longer than the runner's
# rescans: its record then carries a definite exit code and its last words.
SLOW_INTERFACE = '''"""
@required_level: viewer
"""
import argparse
import http.server
import signal
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int)
args, _ = parser.parse_known_args()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/slow"):
            time.sleep(3)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


print("serving", flush=True)
try:
    http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
finally:
    time.sleep(0.6)
    print("drained", flush=True)
'''

FINAL_STATUSES = ("completed", "failed", "terminated")


@contextmanager
def private_services() -> Iterator[tuple[PostgresServer, RedisServer, dict[str, str]]]:
    """A PostgreSQL and a Redis of the test's own, and the app environment using them."""
    # Not under tmp_path: as root the cluster belongs to the `postgres` account,
    # which cannot traverse pytest's 0700 folders.
    folder = Path(tempfile.mkdtemp(prefix="sm-faults-"))
    os.chmod(folder, 0o755)  # noqa: S103 - the postgres account must reach its folder
    postgres = PostgresServer(folder / "pg")
    redis = RedisServer(folder / "redis")
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        cleanup.callback(postgres.stop)
        postgres.start()
        postgres.create_database()
        cleanup.callback(redis.stop)
        redis.start()
        yield (
            postgres,
            redis,
            {"DATABASE_URL": postgres.url, "REDIS_URL": redis.url, "REDIS_KEY_PREFIX": "faults"},
        )


def _scripts(tmp_path: Path, **scripts: str) -> dict[str, str]:
    folder = tmp_path / "script_groups" / "lab"
    folder.mkdir(parents=True)
    for name, text in scripts.items():
        (folder / f"{name}.py").write_text(text)
    return {"SCRIPT_GROUPS_DIR": str(folder.parent)}


def _script_ids(session: ApiSession) -> dict[str, int]:
    group = session.request("GET", "/api/script-groups")[1][0]
    scripts = session.request("GET", f"/api/script-groups/{group['id']}/scripts")[1]
    return {s["filename"]: s["id"] for s in scripts}


def _cookie(session: ApiSession) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.jar)


def _query(database_url: str, sql: str) -> list[tuple]:
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql).fetchall()


def _wait_final(session: ApiSession, script_id: int, execution_id: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        status, body = session.request(
            "GET", f"/api/scripts/{script_id}/status?execution_id={execution_id}"
        )
        assert status == 200, body
        if body["status"] in (*FINAL_STATUSES, "lost") or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def assert_nothing_lost(database_url: str, data_dir: Path, *, executions: int) -> None:
    """Every execution started has a final status (not running, not lost), an
    end, and its full record on disk; no process is live and no port is held."""
    rows = _query(
        database_url,
        "SELECT execution_uuid, status, end_time, stdout_path FROM logs_executionlog",
    )
    assert len(rows) == executions, rows
    for execution_uuid, status, end_time, stdout_path in rows:
        assert status in FINAL_STATUSES, (execution_uuid, status)
        assert end_time is not None, execution_uuid
        record = (data_dir / "logs" / stdout_path).with_name(f"execution_{execution_uuid}.log")
        assert record.is_file(), record
    live = _query(
        database_url,
        "SELECT id FROM execution_scriptprocess "
        "WHERE status IN ('starting', 'running', 'stopping')",
    )
    assert live == []
    held = _query(
        database_url, "SELECT port_number FROM execution_portallocation WHERE released_at IS NULL"
    )
    assert held == []


# --- Redis restarted under open streams ----------------------------------------------


class LogFollower:
    """A viewer of one run's live log that reconnects, resuming at the offsets of
    the last message it got, whenever its socket closes before the `end` message."""

    def __init__(self, url: str, cookie: str, execution_id: str) -> None:
        self.url, self.cookie, self.execution_id = url, cookie, execution_id
        self.offsets = {"stdout": 0, "stderr": 0}
        self.stdout = ""
        self.connections = 0
        self.socket = None
        self.end: dict | None = None

    def lines(self) -> int:
        return self.stdout.count("\n")

    async def run(self) -> None:
        ws_url = self.url.replace("http://", "ws://") + f"/ws/logs/{self.execution_id}/"
        while self.end is None:
            query = f"?stdout={self.offsets['stdout']}&stderr={self.offsets['stderr']}"
            self.connections += 1
            try:
                async with websockets.connect(
                    ws_url + query,
                    additional_headers={"Cookie": self.cookie, "Origin": self.url},
                    open_timeout=5,
                ) as socket:
                    self.socket = socket
                    async for raw in socket:
                        message = json.loads(raw)
                        if message["type"] == "end":
                            self.end = message
                            break
                        assert message["type"] == "output", message
                        if message["stream"] == "stdout":
                            self.stdout += message["data"]
                        self.offsets[message["stream"]] = message["offset"]
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake):
                pass
            finally:
                self.socket = None
            if self.end is None:
                await asyncio.sleep(0.1)


async def _follow_through_redis_restart(
    url: str, cookie: str, execution_id: str, redis: RedisServer
) -> list[LogFollower]:
    followers = [LogFollower(url, cookie, execution_id) for _ in range(3)]
    async with asyncio.timeout(45):
        tasks = [asyncio.create_task(follower.run()) for follower in followers]
        while min(follower.lines() for follower in followers) < 50:
            await asyncio.sleep(0.05)
        # A real outage, not a blink: one viewer also drops its socket and
        # comes back while Redis is down.
        await asyncio.to_thread(redis.stop)
        if followers[0].socket is not None:
            await followers[0].socket.close()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(redis.start)
        # The run was still going: the streams were open across the outage.
        assert max(follower.lines() for follower in followers) < TICKS
        await asyncio.gather(*tasks)
    return followers


def _enqueue_and_wait_for_a_job(app: str, data_dir: Path, env: dict[str, str]) -> object:
    """Run a job through django-q2's Redis broker and the cluster's workers, as
    any code of the app would, and return its result."""
    code = (
        "import json\n"
        "from django_q.tasks import async_task, result\n"
        "task = async_task('execution.tasks.cleanup_task')\n"
        "print(json.dumps(result(task, wait=20000)))\n"
    )
    done = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "shell", "-c", code],
        env=app_env(data_dir, int(app.rsplit(":", 1)[1]), env),
        capture_output=True,
        text=True,
        timeout=40,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_streams_survive_a_redis_restart(tmp_path):
    data = tmp_path / "data"
    with private_services() as (postgres, redis, services):
        env = {**services, **_scripts(tmp_path, ticker=TICKER, quick=QUICK)}
        with running_app(data, extra_env=env) as app:
            session = ApiSession(app)
            assert session.login("op_otto")[0] == 200
            ids = _script_ids(session)
            status, started = session.request(
                "POST", f"/api/scripts/{ids['ticker.py']}/execute", {}
            )
            assert status == 200, started

            followers = run_async(
                _follow_through_redis_restart(app, _cookie(session), started["execution_id"], redis)
            )

            expected = "".join(f"tick {i}\n" for i in range(TICKS))
            for follower in followers:
                assert follower.stdout == expected  # no gap, no duplicate
                assert follower.end["status"] == "completed", follower.end
                assert follower.end["offsets"]["stdout"] == len(expected.encode())
            assert followers[0].connections >= 2  # it did resume from its offsets

            # After the restart: a launch, its live log, and a django-q2 job all work.
            status, quick = session.request("POST", f"/api/scripts/{ids['quick.py']}/execute", {})
            assert status == 200, quick
            again = run_async(_follow_once(app, _cookie(session), quick["execution_id"]))
            assert again.stdout == "quick done\n" and again.end["status"] == "completed"
            assert _wait_final(session, ids["quick.py"], quick["execution_id"])["status"] == (
                "completed"
            )
            assert isinstance(_enqueue_and_wait_for_a_job(app, data, env), dict)
        assert_nothing_lost(postgres.url, data, executions=2)


async def _follow_once(url: str, cookie: str, execution_id: str) -> LogFollower:
    follower = LogFollower(url, cookie, execution_id)
    async with asyncio.timeout(20):
        await follower.run()
    return follower


# --- PostgreSQL restarted while idle -------------------------------------------------


def test_requests_succeed_after_a_postgres_restart(tmp_path):
    data = tmp_path / "data"
    with private_services() as (postgres, _redis, services):
        env = {**services, **_scripts(tmp_path, quick=QUICK)}
        with running_app(data, extra_env=env) as app:
            session = ApiSession(app)
            assert session.login("op_otto")[0] == 200
            ids = _script_ids(session)
            assert session.request("GET", "/")[0] == 200

            postgres.restart()

            # Not one failed request: each opens its own database connection.
            status, page = session.request("GET", "/")
            assert status == 200 and "<html" in page.lower()
            status, groups = session.request("GET", "/api/script-groups")
            assert status == 200 and groups[0]["name"], groups
            status, started = session.request("POST", f"/api/scripts/{ids['quick.py']}/execute", {})
            assert status == 200, started
            # Finalized by the supervisor process, whose connection was cut too.
            done = _wait_final(session, ids["quick.py"], started["execution_id"])
            assert done["status"] == "completed" and done["exit_code"] == 0, done
            assert done["output_tail"] == "quick done\n"
            follower = run_async(_follow_once(app, _cookie(session), started["execution_id"]))
            assert follower.stdout == "quick done\n" and follower.end["status"] == "completed"
        assert_nothing_lost(postgres.url, data, executions=1)


# --- A web worker killed mid-request -------------------------------------------------


def _holder_of(workers: list[psutil.Process], port: int, client: tuple) -> psutil.Process | None:
    """The worker holding the server side of the connection from `client`, once
    one has accepted it (None until then)."""
    for worker in workers:
        with contextlib.suppress(psutil.Error):
            for connection in worker.net_connections(kind="tcp"):
                if (
                    connection.laddr.port == port
                    and connection.raddr
                    and tuple(connection.raddr) == client
                ):
                    return worker
    return None


def _slow_request_on(
    workers: list[psutil.Process], port: int, path: str, headers: dict, *, avoid: int
) -> http.client.HTTPConnection:
    """A connection, accepted by another worker than `avoid`, carrying GET `path`."""
    for _ in range(40):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        connection.request("GET", path, headers=headers)
        deadline = time.monotonic() + 2
        holder = None
        while holder is None and time.monotonic() < deadline:
            holder = _holder_of(workers, port, connection.sock.getsockname())
            time.sleep(0.02)
        if holder is not None and holder.pid != avoid:
            return connection
        connection.close()
    raise AssertionError("every connection went to the same worker")


def _web_workers(app) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(app.process.pid).children():
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE and "daphne" in " ".join(child.cmdline()):
                found.append(child)
    return found


def test_a_worker_killed_mid_request_loses_nothing(tmp_path):
    data = tmp_path / "data"
    with private_services() as (postgres, _redis, services):
        env = {**services, **_scripts(tmp_path, web=SLOW_INTERFACE)}
        with running_app(data, extra_env=env, serve_args=("--workers", "2")) as app:
            session = ApiSession(app)
            assert session.login("op_otto")[0] == 200
            ids = _script_ids(session)
            workers = _web_workers(app)
            assert len(workers) == 2
            port = int(app.rsplit(":", 1)[1])
            cookie = {"Cookie": _cookie(session)}

            # One keep-alive connection: the worker that launches the script
            # also gets the slow request, and is the one killed.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            connection.request(
                "POST",
                f"/api/scripts/{ids['web.py']}/execute",
                "{}",
                {**cookie, "X-CSRFToken": session.csrf_token(), "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            started = json.loads(response.read())
            assert response.status == 200 and started["status"] == "running", started
            assert connection.sock is not None, "the app closed a keep-alive connection"
            [(runner_pid,)] = _query(postgres.url, "SELECT runner_pid FROM execution_scriptprocess")
            runner = psutil.Process(runner_pid)
            try:
                slow = started["app_url"] + "slow"
                connection.request("GET", slow, headers=cookie)
                victim = _holder_of(workers, port, connection.sock.getsockname())
                assert victim is not None and runner.ppid() == victim.pid
                # The same slow request, in flight on the other worker meanwhile.
                bystander = _slow_request_on(workers, port, slow, cookie, avoid=victim.pid)
                outcomes: dict[str, object] = {}
                readers = [
                    threading.Thread(target=_read_into, args=(outcomes, name, conn))
                    for name, conn in (("victim", connection), ("bystander", bystander))
                ]
                for reader in readers:
                    reader.start()
                time.sleep(0.5)  # both requests have reached the script, which sleeps
                victim.send_signal(signal.SIGKILL)
                for reader in readers:
                    reader.join(timeout=15)
                assert isinstance(outcomes["victim"], Exception), outcomes
                assert outcomes["bystander"] == (200, b"ok"), outcomes
                connection.close()
                bystander.close()

                # Every later request succeeds, through the surviving worker and
                # the one serve starts in place of the dead.
                for _ in range(10):
                    assert session.request("GET", "/api/auth/user")[0] == 200
                proxied = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                proxied.request("GET", started["app_url"], headers=cookie)
                answer = proxied.getresponse()
                assert (answer.status, answer.read()) == (200, b"ok")
                proxied.close()
                deadline = time.monotonic() + 20
                while len(_web_workers(app)) < 2 and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert victim.pid not in {w.pid for w in _web_workers(app)}
                assert len(_web_workers(app)) == 2

                # The script outlived the worker that launched it, and stops on request.
                assert runner.is_running() and runner.status() != psutil.STATUS_ZOMBIE
                status, body = session.request(
                    "GET",
                    f"/api/scripts/{ids['web.py']}/status?execution_id={started['execution_id']}",
                )
                assert body["status"] == "running", body
                status, stopped = session.request(
                    "POST",
                    f"/api/scripts/{ids['web.py']}/stop",
                    {"execution_id": started["execution_id"]},
                )
                assert status == 200, stopped
                assert stopped["status"] == "terminated" and stopped["stop_reason"] == "user"
                assert stopped["exit_code"] == 0 and stopped["ended"], stopped
                # One SIGTERM, not one per rescan: the shutdown ran to its end.
                assert stopped["output_tail"] == "serving\ndrained\n", stopped
                assert not runner.is_running() or runner.status() == psutil.STATUS_ZOMBIE
            except BaseException:
                # Nothing of a failed test may outlive it: the runner leads its
                # own process group, with the script in it.
                with contextlib.suppress(OSError):
                    os.killpg(runner_pid, signal.SIGKILL)
                raise
        assert_nothing_lost(postgres.url, data, executions=1)


def _read_into(outcomes: dict, name: str, connection: http.client.HTTPConnection) -> None:
    try:
        response = connection.getresponse()
        outcomes[name] = (response.status, response.read())
    except Exception as error:  # noqa: BLE001 - for the killed worker, the expected outcome
        outcomes[name] = error
