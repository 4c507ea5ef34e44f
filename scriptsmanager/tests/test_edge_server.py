"""The edge of the real server (`manage.py serve`: daphne with two web workers)
met over raw sockets and a real WebSocket client: request bodies refused
before they are read, the exact-origin check, the per-user WebSocket cap, and
interface tokens kept out of the access log."""

import contextlib
import hashlib
import json
import secrets
import select
import socket
import stat
import time
from pathlib import Path

import psutil
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as websocket_connect

from scriptsmanager.testing import ApiSession, running_app

# Its subject does not depend on the database: run on one backend (bin/test).
pytestmark = pytest.mark.one_backend

MiB = 1024 * 1024
TIMEOUT = 20
ALLOWANCE = 3


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    data = tmp_path_factory.mktemp("edge-app")
    with running_app(
        data,
        extra_env={"WEBSOCKETS_PER_USER": str(ALLOWANCE)},
        serve_args=("--only", "web", "--workers", "2"),
    ) as url:
        url.data = data
        yield url


@pytest.fixture(scope="module")
def session_cookie(edge):
    api = ApiSession(edge)
    status, _ = api.login("op_otto")
    assert status == 200
    return "; ".join(f"{c.name}={c.value}" for c in api.jar)


def web_workers_rss(edge) -> int:
    workers = [
        child
        for child in psutil.Process(edge.process.pid).children(recursive=True)
        if "daphne" in " ".join(child.cmdline())
    ]
    assert len(workers) == 2
    return sum(worker.memory_info().rss for worker in workers)


def raw_connection(edge) -> socket.socket:
    host, port = edge.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    return sock


def head(edge, method: str, path: str, headers: dict[str, str]) -> bytes:
    host = edge.removeprefix("http://")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket) -> tuple[int, dict]:
    """(status, JSON body) of the one response on `sock`, read to its end."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    header, _, body = data.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in header.split(b"\r\n")[1:]
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, body
        body += chunk
    return status, json.loads(body[:length])


def test_an_anonymous_huge_content_length_is_refused_before_any_of_the_body(edge):
    with raw_connection(edge) as sock:
        sock.sendall(
            head(
                edge,
                "POST",
                "/accounts/login/",
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Content-Length": str(2 * 1024 * MiB),
                    "Accept-Language": "fr",
                },
            )
        )
        # Not one byte of the body sent: the answer must come from the headers alone.
        status, body = read_response(sock)
    assert status == 413
    # Over every sender's limit on this route: refused without asking who sends it.
    # In the sender's language (here Django's own French for the size).
    assert "11,0\xa0Mio" in body["detail"]


def test_a_chunked_anonymous_body_is_cut_off_as_it_arrives_and_memory_stays_flat(edge):
    before = web_workers_rss(edge)
    sent = 0
    with raw_connection(edge) as sock:
        sock.sendall(head(edge, "POST", "/api/auth/login", {"Transfer-Encoding": "chunked"}))
        piece = b"x" * 65536
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        answered = False
        while sent < 256 * MiB:
            sock.sendall(chunk)
            sent += len(piece)
            if select.select([sock], [], [], 0)[0]:
                answered = True
                break
        assert answered, "no answer after 256 MiB of chunked body"
        status, body = read_response(sock)
        # Whatever else the client sends is thrown away, not kept.
        try:
            for _ in range(64 * MiB // len(chunk)):
                sock.sendall(chunk)
                sent += len(piece)
        except OSError:
            pass
    assert status == 413 and "detail" in body
    assert web_workers_rss(edge) - before < 32 * MiB


def test_a_signed_in_user_may_send_a_larger_body_but_not_beyond_the_routes_limit(
    edge, session_cookie
):
    body = b"x" * (256 * 1024)
    with raw_connection(edge) as sock:
        sock.sendall(
            head(
                edge,
                "POST",
                "/api/no-such-thing",
                {
                    "Cookie": session_cookie,
                    "Content-Length": str(len(body)),
                    "Accept": "application/json",
                },
            )
            + body
        )
        status, _ = read_response(sock)
    assert status == 404  # read whole and answered by the application

    with raw_connection(edge) as sock:
        sock.sendall(
            head(
                edge,
                "POST",
                "/api/no-such-thing",
                {"Cookie": session_cookie, "Content-Length": str(12 * MiB)},
            )
        )
        status, body = read_response(sock)
    assert status == 413


def ws_url(edge, path: str) -> str:
    return edge.replace("http://", "ws://") + path


def test_a_websocket_from_another_port_or_scheme_of_the_host_is_refused(edge, session_cookie):
    port = int(edge.rsplit(":", 1)[1])
    for origin in (f"http://127.0.0.1:{port + 1}", f"https://127.0.0.1:{port}", "http://localhost"):
        with pytest.raises(InvalidStatus) as refused:
            websocket_connect(
                ws_url(edge, "/ws/logs/user/"),
                origin=origin,
                additional_headers={"Cookie": session_cookie},
                open_timeout=TIMEOUT,
            )
        assert (origin, refused.value.response.status_code) == (origin, 403)
    with websocket_connect(
        ws_url(edge, "/ws/logs/user/"),
        origin=edge,
        additional_headers={"Cookie": session_cookie},
        open_timeout=TIMEOUT,
    ) as ws:
        assert json.loads(ws.recv(TIMEOUT))["type"] == "snapshot"


def test_websockets_beyond_the_users_allowance_are_closed_with_4429(edge, session_cookie):
    def open_socket():
        return websocket_connect(
            ws_url(edge, "/ws/logs/user/"),
            origin=edge,
            additional_headers={"Cookie": session_cookie},
            open_timeout=TIMEOUT,
        )

    with contextlib.ExitStack() as held:
        for _ in range(ALLOWANCE):
            ws = held.enter_context(open_socket())
            assert json.loads(ws.recv(TIMEOUT))["type"] == "snapshot"
        with open_socket() as extra, pytest.raises(ConnectionClosed) as closed:
            extra.recv(TIMEOUT)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4429, "too many connections")


def test_the_access_log_keeps_interface_tokens_out(edge):
    token = secrets.token_urlsafe(24)
    with raw_connection(edge) as sock:
        sock.sendall(
            head(edge, "GET", f"/interfaces/{token}/app/page?x=1", {"Connection": "close"})
        )
        while sock.recv(65536):
            pass
    with pytest.raises(InvalidStatus):
        websocket_connect(ws_url(edge, f"/interfaces/{token}.proof/app/ws"), origin=edge)
    log = Path(edge.data) / "logs" / "system" / "access.log"
    short = "~" + hashlib.sha256(token.encode()).hexdigest()[:8]
    deadline = time.monotonic() + TIMEOUT
    text = ""
    while time.monotonic() < deadline:
        text = log.read_text()
        if text.count(short) >= 2:
            break
        time.sleep(0.1)
    assert text.count(short) >= 2, text[-2000:]
    assert token not in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_a_signed_in_users_chunked_body_reaches_the_application_whole(edge, session_cookie):
    piece = b"y" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    with raw_connection(edge) as sock:
        # Sent at once: the whole body may be in before the session is looked up.
        sock.sendall(
            head(
                edge,
                "POST",
                "/api/no-such-thing",
                {"Cookie": session_cookie, "Transfer-Encoding": "chunked"},
            )
            + chunk * 4
            + b"0\r\n\r\n"
        )
        status, _ = read_response(sock)
    assert status == 404
