"""Several web workers serving one installation: two `serve` processes on two
ports share the data folder and the database (as two workers behind nginx
would), and a third worker pair shares one port through `--workers 2`."""

import asyncio
import json
import socket
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import psutil
import websockets

from scriptsmanager.testing import ApiSession, app_database_query, run_async, running_app

TICKER = '''"""
@required_level: viewer
@interface: false
"""
import time
for i in range(600):
    print(f"tick {i}", flush=True)
    time.sleep(0.02)
'''

INTERFACE = '''"""
@required_level: viewer
"""
import argparse
import http.server

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int)
args, _ = parser.parse_known_args()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
'''


def _scripts(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "script_groups" / "lab"
    folder.mkdir(parents=True)
    (folder / "ticker.py").write_text(TICKER)
    (folder / "web.py").write_text(INTERFACE)
    return {"SCRIPT_GROUPS_DIR": str(folder.parent)}


def _script_ids(session: ApiSession) -> dict[str, int]:
    group = session.request("GET", "/api/script-groups")[1][0]
    scripts = session.request("GET", f"/api/script-groups/{group['id']}/scripts")[1]
    return {s["filename"]: s["id"] for s in scripts}


def _runner_of(execution_id: str) -> psutil.Process:
    """The runner supervising that execution (its exit file is named after it)."""
    for process in psutil.process_iter(["cmdline"]):
        if any(f"execution_{execution_id}" in part for part in process.info["cmdline"] or ()):
            return process
    raise AssertionError(f"no runner for {execution_id}")


def _web_workers(app) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(app.process.pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "daphne" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def _cookie(session: ApiSession) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.jar)


async def _stream(url: str, cookie: str, execution_id: str) -> tuple[str, dict]:
    ws_url = url.replace("http://", "ws://") + f"/ws/logs/{execution_id}/"
    text = ""
    async with websockets.connect(
        ws_url, additional_headers={"Cookie": cookie, "Origin": url}, open_timeout=10
    ) as socket:
        async with asyncio.timeout(60):
            async for raw in socket:
                message = json.loads(raw)
                if message["type"] == "end":
                    return text, message
                if message.get("stream") == "stdout":
                    text += message["data"]
    raise AssertionError("the stream closed without an end message")


def test_two_workers_share_streams_stops_and_ports(tmp_path):
    env = _scripts(tmp_path)
    data = tmp_path / "data"
    with ExitStack() as stack:
        first = stack.enter_context(running_app(data, extra_env=env))
        second = stack.enter_context(
            running_app(data, extra_env=env, serve_args=("--only", "web"), prepare=False)
        )
        on_first, on_second = ApiSession(first), ApiSession(second)
        assert on_first.login("op_otto")[0] == 200
        assert on_second.login("op_otto")[0] == 200
        ids = _script_ids(on_first)

        # Started through the first worker, streamed from the second, whole and in order.
        status, started = on_first.request("POST", f"/api/scripts/{ids['ticker.py']}/execute", {})
        assert status == 200, started
        text, end = run_async(_stream(second, _cookie(on_second), started["execution_id"]))
        assert end["status"] == "completed"
        assert text.splitlines() == [f"tick {i}" for i in range(600)]

        # Started through the second, stopped through the first: the process tree is gone.
        status, running = on_second.request("POST", f"/api/scripts/{ids['web.py']}/execute", {})
        assert status == 200 and running["status"] == "running", running
        runner = _runner_of(running["execution_id"])
        status, stopped = on_first.request(
            "POST",
            f"/api/scripts/{ids['web.py']}/stop",
            {"execution_id": running["execution_id"]},
        )
        assert status == 200, stopped
        assert stopped["status"] in ("stopped", "terminated"), stopped
        runner.wait(timeout=15)
        assert (
            on_second.request(
                "GET",
                f"/api/scripts/{ids['web.py']}/status?execution_id={running['execution_id']}",
            )[1]["status"]
            == stopped["status"]
        )

        # Launches racing on both workers never share a port.
        olga_first, olga_second = ApiSession(first), ApiSession(second)
        olga_first.login("op_olga")
        olga_second.login("op_olga")
        results: list[tuple[ApiSession, int, dict]] = []

        def launch(session: ApiSession) -> None:
            status, body = session.request("POST", f"/api/scripts/{ids['web.py']}/execute", {})
            results.append((session, status, body))

        threads = [
            threading.Thread(target=launch, args=(session,))
            for session in (on_first, on_second, olga_first, olga_second) * 2
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert [status for _, status, _ in results] == [200] * 8, results
        ports = [body["port"] for _, _, body in results]
        assert len(set(ports)) == 8, ports
        live = app_database_query(
            data, "SELECT port_number FROM execution_portallocation WHERE released_at IS NULL"
        )
        assert sorted(port for (port,) in live) == sorted(ports)
        for session, _, body in results:
            session.request(
                "POST", f"/api/scripts/{ids['web.py']}/stop", {"execution_id": body["execution_id"]}
            )


def test_two_workers_on_one_port_both_serve(tmp_path):
    env = _scripts(tmp_path)
    with running_app(tmp_path / "data", extra_env=env, serve_args=("--workers", "2")) as app:
        workers = _web_workers(app)
        assert len(workers) == 2
        # Connections held open at once are spread over both workers, and every
        # one of them is answered.
        port = int(app.rsplit(":", 1)[1])
        holders: set[int] = set()
        for _ in range(10):
            connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
            for connection in connections:
                connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for connection in connections:
                assert connection.recv(64).startswith(b"HTTP/1.1 200")
            for worker in workers:
                if any(
                    c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
                    for c in worker.net_connections(kind="tcp")
                ):
                    holders.add(worker.pid)
            for connection in connections:
                connection.close()
            if len(holders) == 2:
                break
        assert holders == {worker.pid for worker in workers}
        session = ApiSession(app)
        assert session.login("op_otto")[0] == 200
        # A worker killed mid-flight is replaced, and the port keeps answering.
        workers[0].kill()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            children = [c for c in _web_workers(app) if c.pid != workers[0].pid]
            if len(children) == 2:
                break
            time.sleep(0.2)
        assert len(children) == 2
        for _ in range(20):
            assert session.request("GET", "/api/auth/user")[0] == 200
