"""bin/start, for real: install check, migrate, first admin, then the web server
and the job cluster; safe to run again, and clear when its port is taken."""

import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

from scriptsmanager.testing import ApiSession, free_port

READY_TIMEOUT = 90
STOP_TIMEOUT = 20

# Variables a developer's shell could carry that would change what bin/start does.
_INHERITED_NOISE = (
    "SECRET_KEY",
    "ADMIN_PASSWORD",
    "ADMIN_USERNAME",
    "DATABASE_URL",
    "REDIS_URL",
    "LISTEN_HOST",
    "DJANGO_SETTINGS_MODULE",
)


class Start:
    """One `bin/start` run in its own process group, its output in a file."""

    def __init__(self, data_dir: Path, port: int, log_path: Path):
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        env = {key: value for key, value in os.environ.items() if key not in _INHERITED_NOISE}
        env.update(
            BASE_DATA_PATH=str(data_dir),
            LISTEN_PORT=str(port),
            DJANGO_SETTINGS_MODULE="scriptsmanager.settings",
        )
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                ["bash", "bin/start"],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"bin/start exited with code {self.process.returncode} before "
                    f"answering /health:\n{self.output}"
                )
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"no 200 from {self.url}/health in {READY_TIMEOUT} s:\n{self.output}")

    def stop(self) -> int:
        """SIGTERM, as a service manager would send; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"bin/start still running {STOP_TIMEOUT} s after SIGTERM:\n{self.output}"
            ) from None

    def leaves_processes_behind(self) -> bool:
        """Whether anything of this run's process group (web server, job cluster) lives on."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return False
            time.sleep(0.2)
        return True

    def kill(self) -> None:
        """Whatever happened, leave nothing of this run behind (its whole group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _login(url: str, username: str, password: str) -> tuple[int, dict]:
    """Log in like a script would: fetch the CSRF cookie, send it back as a header."""
    return ApiSession(url).login(username, password)


def _get_until_the_server_hangs_up(port: int, path: str) -> bytes:
    """A plain HTTP/1.0 request read to the end, so the server closes the connection
    first, as it does for any browser request it answers with `Connection: close`."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _admin_count(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        (count,) = connection.execute(
            "SELECT COUNT(*) FROM accounts_user WHERE user_level = 'admin'"
        ).fetchone()
    return count


def test_the_first_start_shows_an_admin_password_once_and_a_restart_keeps_that_admin(tmp_path):
    data_dir = tmp_path / "data"

    first = Start(data_dir, free_port(), tmp_path / "first.log")
    try:
        first.wait_until_healthy()
        output = first.output
        assert output.count("password:") == 1, output
        password = re.search(r"password:[ \t]*(\S+)", output)[1]
        assert password

        status, body = _login(first.url, "admin", password)
        assert status == 200, body
        assert body["authenticated"] is True
        assert body["user"]["username"] == "admin"
        assert body["user"]["user_level"] == "admin"
        assert _login(first.url, "admin", password + "-wrong")[0] == 401

        assert first.stop() == 0, first.output
        assert not first.leaves_processes_behind()
    finally:
        first.kill()

    second = Start(data_dir, free_port(), tmp_path / "second.log")
    try:
        second.wait_until_healthy()
        assert "password:" not in second.output, second.output
        assert "An administrator already exists" in second.output

        status, body = _login(second.url, "admin", password)
        assert status == 200, body
        assert body["user"]["username"] == "admin"
    finally:
        second.kill()

    assert _admin_count(data_dir / "scriptsmanager.db") == 1


def test_it_starts_again_on_the_same_port_right_after_a_stop(tmp_path):
    data_dir, port = tmp_path / "data", free_port()

    first = Start(data_dir, port, tmp_path / "first.log")
    try:
        first.wait_until_healthy()
        answer = _get_until_the_server_hangs_up(port, "/health")
        assert b" 200 " in answer.split(b"\r\n", 1)[0], answer
        assert first.stop() == 0, first.output
    finally:
        first.kill()

    second = Start(data_dir, port, tmp_path / "second.log")
    try:
        second.wait_until_healthy()
    finally:
        second.kill()


def test_it_refuses_to_start_on_a_port_another_program_listens_on(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        start = Start(tmp_path / "data", port, tmp_path / "start.log")
        try:
            code = start.process.wait(timeout=READY_TIMEOUT)
        finally:
            start.kill()

    assert code != 0
    output = start.output
    assert f"127.0.0.1:{port}" in output
    assert "LISTEN_PORT" in output
    assert "Traceback" not in output
