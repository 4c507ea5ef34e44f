import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scriptsmanager.schedules import schedules_ensure

RESTART_LIMIT = 5
RESTART_WINDOW = 60.0
STOP_GRACE = 10.0


class Command(BaseCommand):
    help = (
        "Start the whole application in the foreground: the ASGI server (HTTP and "
        "WebSocket), the django-q2 job cluster, the scripts folder watcher and the "
        "script supervisor. "
        "Ctrl-C stops everything."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.LISTEN_HOST)
        parser.add_argument("--port", type=int, default=settings.LISTEN_PORT)

    def handle(self, *args, host: str, port: int, **options):
        self._port_check(host, port)
        schedules_ensure()
        system_logs = settings.LOGS_DIR / "system"
        system_logs.mkdir(parents=True, exist_ok=True)
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        commands = {
            "web": [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                host,
                "-p",
                str(port),
                "--access-log",
                str(system_logs / "access.log"),
                "scriptsmanager.asgi:application",
            ],
            "jobs": [sys.executable, manage, "qcluster"],
            "watcher": [sys.executable, manage, "watch_scripts"],
            "supervisor": [sys.executable, manage, "supervise"],
        }
        self.children: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, list[float]] = {name: [] for name in commands}
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for name, argv in commands.items():
            self.children[name] = subprocess.Popen(argv, cwd=settings.BASE_DIR)
        self.stdout.write(
            self.style.SUCCESS(f"SIDEL ScriptsManager is running at http://{host}:{port}/")
            + "  (Ctrl-C to stop)"
        )
        try:
            self._supervise(commands)
        finally:
            self._stop_all()

    def _port_check(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As daphne does: connections of a just-stopped server (TIME_WAIT)
            # must not count as "in use", only a listening program.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise CommandError(
                    f"Cannot listen on {host}:{port} ({error.strerror}). Another program "
                    f"(or another copy of ScriptsManager) is using it: stop it, or choose "
                    f"another port with LISTEN_PORT=<port>."
                ) from None

    def _on_signal(self, signum, frame):
        self.stopping = True

    def _supervise(self, commands: dict[str, list[str]]) -> None:
        while not self.stopping:
            time.sleep(0.5)
            for name, child in list(self.children.items()):
                code = child.poll()
                if code is None or self.stopping:
                    continue
                now = time.monotonic()
                recent = [t for t in self.restarts[name] if now - t < RESTART_WINDOW]
                if len(recent) >= RESTART_LIMIT:
                    self.stderr.write(
                        f"The {name} process keeps exiting (code {code}); stopping everything."
                    )
                    raise CommandError(f"{name} process failed repeatedly", returncode=1)
                self.stderr.write(f"The {name} process exited with code {code}; restarting it.")
                self.restarts[name] = [*recent, now]
                self.children[name] = subprocess.Popen(commands[name], cwd=settings.BASE_DIR)

    def _stop_all(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.stdout.write("SIDEL ScriptsManager stopped.")
