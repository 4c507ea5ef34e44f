"""Test helpers shared by every app: fast bcrypt, personas, a running app."""

import asyncio
import hashlib
import http.cookiejar
import json
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import BCryptSHA256PasswordHasher

PERSONA_PASSWORD = "correct-horse-battery-staple"

# username -> user_level; shared by the whole suite so isolation tests read naturally.
PERSONAS = {
    "ada_admin": "admin",
    "dev_dora": "developer",
    "op_otto": "operator",
    "op_olga": "operator",
    "vic_viewer": "viewer",
}


class FastBCryptSHA256PasswordHasher(BCryptSHA256PasswordHasher):
    """Real bcrypt, with the minimum cost so the suite does not spend minutes hashing."""

    rounds = 4


class ScriptsTree:
    """Writes real group folders and scripts under a temporary SCRIPT_GROUPS_DIR."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tick = 0

    def group(self, name: str, metadata: dict | None = None) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        if metadata is not None:
            self.write(folder / "metadata.json", json.dumps(metadata, indent=2))
        return folder

    def script(
        self, group: str, filename: str, header: str = "", body: str = "print('hi')\n"
    ) -> Path:
        folder = self.group(group)
        text = (
            f'"""\nScriptsManager Metadata:\n{textwrap.dedent(header).strip()}\n"""\n{body}'
            if header
            else body
        )
        return self.write(folder / filename, text)

    def script_metadata(self, group: str, data: dict, *, in_scripts_folder: bool = False) -> Path:
        folder = self.group(group) / ("scripts" if in_scripts_folder else "")
        folder.mkdir(exist_ok=True)
        return self.write(folder / "script_metadata.json", json.dumps(data, indent=2))

    def write(self, path: Path, text: str) -> Path:
        path.write_text(text, encoding="utf-8")
        # Distinct mtimes even when a test writes twice within the clock's resolution.
        self._tick += 1
        stamp = 1_700_000_000 + self._tick
        os.utime(path, (stamp, stamp))
        return path


class ApiSession:
    """An HTTP client for a running app that logs in like any API client: fetch
    the CSRF cookie, send it back as X-CSRFToken."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf_token(self) -> str:
        token = next((c.value for c in self.jar if c.name == "csrftoken"), None)
        if token is None:
            self.request("GET", "/api/auth/user")
            token = next(c.value for c in self.jar if c.name == "csrftoken")
        return token

    def request(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        """(status, decoded JSON body or text); HTTP errors are returned, not raised."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method not in ("GET", "HEAD"):
            headers["X-CSRFToken"] = self.csrf_token()
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=15) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:
                status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def login(self, username: str, password: str = PERSONA_PASSWORD) -> tuple[int, object]:
        return self.request("POST", "/api/auth/login", {"username": username, "password": password})


def run_async[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: the session's Playwright browser keeps
    an event loop running in the main thread once a browser test has run."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_health(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the app did not answer {url}/health within {timeout} s")


class AppUrl(str):
    """The base URL of a running app; `.process` is its `manage.py serve` process."""

    process: subprocess.Popen


def app_database_url(data_dir: Path) -> str | None:
    """On a PostgreSQL run, the database of the app whose data folder is
    `data_dir` (created on first use), as SQLite keeps one per data folder;
    None on the embedded default."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        return None
    import psycopg

    name = "sm_app_" + hashlib.sha1(str(data_dir).encode(), usedforsecurity=False).hexdigest()[:16]
    with psycopg.connect(base, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


def app_database_query(data_dir: Path, sql: str) -> list[tuple]:
    """Rows of `sql` in the database of the app whose data folder is `data_dir`."""
    url = app_database_url(data_dir)
    if url is None:
        database = sqlite3.connect(data_dir / "scriptsmanager.db")
        try:
            return database.execute(sql).fetchall()
        finally:
            database.close()
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchall()


def app_env(data_dir: Path, port: int, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an app whose state lives in `data_dir`: its own database
    and, when Redis is configured, its own key prefix there."""
    env = {
        **os.environ,
        "BASE_DATA_PATH": str(data_dir),
        "LISTEN_PORT": str(port),
        "DJANGO_SETTINGS_MODULE": "scriptsmanager.settings",
    }
    database_url = app_database_url(data_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
        env["REDIS_KEY_PREFIX"] = database_url.rsplit("/", 1)[1]
    env.update(extra_env or {})
    return env


@contextmanager
def running_app(
    data_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    serve_args: tuple[str, ...] = (),
    prepare: bool = True,
) -> Iterator[str]:
    """Migrate the data directory, add the personas (once), discover the scripts
    and run `manage.py serve` on a free loopback port. Yields the base URL.
    `prepare=False` skips the first three, for another worker of a running app."""
    port = free_port()
    env = app_env(data_dir, port, extra_env)
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    if prepare:
        _app_prepare(manage, env)
    log = (data_dir / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [*manage, "serve", "--port", str(port), *serve_args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = AppUrl(f"http://127.0.0.1:{port}")
    url.process = process
    try:
        _wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _app_prepare(manage: list[str], env: dict[str, str]) -> None:
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    make_personas = (
        "from accounts.models import User\n"
        f"for name, level in {PERSONAS!r}.items():\n"
        "    if not User.objects.filter(username=name).exists():\n"
        "        User.objects.create_user(username=name, email=name + '@example.com',\n"
        f"            password={PERSONA_PASSWORD!r}, user_level=level)\n"
    )
    subprocess.run(
        [*manage, "shell", "-c", make_personas], env=env, check=True, capture_output=True
    )
    # As bin/start does: the catalogue is complete before the first request.
    subprocess.run([*manage, "discover"], env=env, check=True, capture_output=True)
