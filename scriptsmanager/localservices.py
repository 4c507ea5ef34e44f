"""Throw-away PostgreSQL and Redis servers on loopback, for the test suite and
the benchmarks: each in its own folder, on its own port, stopped at the end.

    python -m scriptsmanager.localservices -- COMMAND ...

starts both, runs COMMAND with DATABASE_URL and REDIS_URL pointing at them (and
SM_LOCAL_SERVICES naming the folder, so fault tests can restart them), then
stops both and removes the folder. Uses Debian's `postgresql` and
`redis-server` packages (bin/test installs them when missing).
"""

import argparse
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STATE_FILE = "services.env"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bindir() -> Path:
    """The newest installed PostgreSQL server's bin folder."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    if found:
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL server not found: install Debian's postgresql package "
        "(bin/test does it when run as root)."
    )


def _wait_for_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on 127.0.0.1:{port}")


class PostgresServer:
    """A PostgreSQL cluster in `folder`, trust auth on loopback only.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the
    `postgres` account the Debian package creates."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = Path(folder)
        self.data = self.folder / "pgdata"
        self.port = port or free_port()
        self.bindir = pg_bindir()
        self.user = "sm"
        self.database = "scriptsmanager"

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(
            self._as_owner(argv), capture_output=True, text=True, check=False, cwd="/"
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {result.stderr or result.stdout}")

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )

    def start(self) -> None:
        if not self.data.exists():
            self.init()
        # Durability is traded for speed: these clusters hold test data only.
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.folder / "postgres.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        _wait_for_port(self.port, 30, "PostgreSQL")

    def create_database(self) -> None:
        self._run(
            [
                str(self.bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                self.database,
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self) -> None:
        self.stop()
        self.start()


class RedisServer:
    """A Redis server in `folder`, loopback only, nothing persisted."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = Path(folder)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(executable).exists():
            raise RuntimeError(
                "redis-server not found: install Debian's redis-server package "
                "(bin/test does it when run as root)."
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        (self.folder / "redis.pid").write_text(str(self.process.pid))
        _wait_for_port(self.port, 15, "Redis")

    def stop(self) -> None:
        pid_file = self.folder / "redis.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if self.process is not None:
            self.process.wait(timeout=15)
        else:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        pid_file.unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()


def services_from_env() -> tuple[PostgresServer, RedisServer]:
    """The servers started by `main` for this process tree (fault tests restart them)."""
    folder = Path(os.environ["SM_LOCAL_SERVICES"])
    values = dict(
        line.split("=", 1) for line in (folder / STATE_FILE).read_text().splitlines() if line
    )
    postgres = PostgresServer(folder / "postgres", int(values["PG_PORT"]))
    redis = RedisServer(folder / "redis", int(values["REDIS_PORT"]))
    return postgres, redis


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command to run, after --")
    folder = Path(tempfile.mkdtemp(prefix="sm-services-"))
    os.chmod(folder, 0o755)  # noqa: S103 - the postgres account must reach its folder
    postgres = PostgresServer(folder / "postgres")
    redis = RedisServer(folder / "redis")
    try:
        postgres.start()
        postgres.create_database()
        redis.start()
        (folder / STATE_FILE).write_text(f"PG_PORT={postgres.port}\nREDIS_PORT={redis.port}\n")
        print(
            f"PostgreSQL on 127.0.0.1:{postgres.port}, Redis on 127.0.0.1:{redis.port}",
            flush=True,
        )
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis.url,
            "SM_LOCAL_SERVICES": str(folder),
        }
        return subprocess.call(command, env=env)
    finally:
        for stop in (redis.stop, postgres.stop):
            try:
                stop()
            except Exception as exc:  # noqa: BLE001 - report and go on cleaning up
                print(f"while stopping: {exc}", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
