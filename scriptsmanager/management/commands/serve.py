import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scriptsmanager.files import FILE_MODE, private_modes_fix
from scriptsmanager.schedules import schedules_ensure

RESTART_LIMIT = 5
RESTART_WINDOW = 60.0
STOP_GRACE = 10.0
COMPONENTS = ("web", "jobs", "watcher", "supervisor")


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
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.WEB_WORKERS,
            help="ASGI worker processes sharing the port (default: WEB_WORKERS).",
        )
        parser.add_argument(
            "--only",
            default=",".join(COMPONENTS),
            help="Comma-separated components to run, of: " + ", ".join(COMPONENTS) + " (all).",
        )

    def handle(self, *args, host: str, port: int, workers: int, only: str, **options):
        chosen = [name.strip() for name in only.split(",") if name.strip()]
        unknown = sorted(set(chosen) - set(COMPONENTS))
        if unknown or not chosen:
            raise CommandError(
                f"--only takes components among {', '.join(COMPONENTS)}; "
                f"got {', '.join(unknown) or 'none'}."
            )
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        listener = self._listen(host, port) if "web" in chosen else None
        fixed = private_modes_fix(roots=[settings.BASE_DATA_PATH, settings.BACKUP_PATH])
        if fixed:
            self.stdout.write(
                f"Made {fixed} files and folders under the data and backup folders "
                "readable by this account only."
            )
        schedules_ensure()
        system_logs = settings.LOGS_DIR / "system"
        system_logs.mkdir(parents=True, exist_ok=True)
        access_log = system_logs / "access.log"
        # daphne opens it with the umask it inherits; created here, it is 0600 in any case.
        os.close(os.open(access_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE))
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        commands: dict[str, list[str]] = {}
        self.pass_fds: tuple[int, ...] = ()
        if listener is not None:
            # Every worker accepts on the one socket bound here, so they share
            # the port without SO_REUSEPORT and a restarted worker rejoins it.
            self.pass_fds = (listener.fileno(),)
            access_log = system_logs / "access.log"
            # Client addresses and paths: for the administrators (and the
            # service account) only.
            os.close(os.open(access_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
            access_log.chmod(0o600)
            # daphne's command line, with request bodies limited before they
            # are read and interface tokens kept out of the access log.
            web = [
                sys.executable,
                "-m",
                "scriptsmanager.daphne_server",
                "--fd",
                str(listener.fileno()),
                "--access-log",
                str(access_log),
            ]
            # No --proxy-headers: daphne would believe them from any peer;
            # scriptsmanager.proxies applies them from TRUSTED_PROXIES only.
            web.append("scriptsmanager.asgi:application")
            for number in range(1, workers + 1):
                commands["web" if workers == 1 else f"web-{number}"] = web
        if "jobs" in chosen:
            commands["jobs"] = [sys.executable, manage, "qcluster"]
        if "watcher" in chosen:
            commands["watcher"] = [sys.executable, manage, "watch_scripts"]
        if "supervisor" in chosen:
            commands["supervisor"] = [sys.executable, manage, "supervise"]
        self.children: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, list[float]] = {name: [] for name in commands}
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for name, argv in commands.items():
            self.children[name] = self._spawn(argv)
        if listener is not None:
            self.stdout.write(
                self.style.SUCCESS(f"SIDEL ScriptsManager is running at http://{host}:{port}/")
                + f"  ({workers} web worker{'s' if workers > 1 else ''}; Ctrl-C to stop)"
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"Running: {', '.join(commands)}"))
        try:
            self._supervise(commands)
        finally:
            self._stop_all()
            if listener is not None:
                listener.close()

    def _spawn(self, argv: list[str]) -> subprocess.Popen:
        return subprocess.Popen(argv, cwd=settings.BASE_DIR, pass_fds=self.pass_fds)

    def _listen(self, host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        # As daphne does: connections of a just-stopped server (TIME_WAIT)
        # must not count as "in use", only a listening program.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError as error:
            listener.close()
            raise CommandError(
                f"Cannot listen on {host}:{port} ({error.strerror}). Another program "
                f"(or another copy of ScriptsManager) is using it: stop it, or choose "
                f"another port with LISTEN_PORT=<port>."
            ) from None
        listener.listen(1024)
        listener.set_inheritable(True)
        return listener

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
                self.children[name] = self._spawn(commands[name])

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
