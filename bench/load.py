"""Load on the real server, on the embedded default and on PostgreSQL + Redis.

Per backend: `manage.py serve --workers 2` on a throw-away data folder with a
few script groups, 12 operators and a few hundred seeded execution logs. Then,
for --duration seconds (default 60):

* 50 virtual users, each with its own session (logged in through the API with
  CSRF, as a browser does), loop over the dashboard, a group page, the log
  list page and the log list API, with a random 0-200 ms think time;
* 20 interfaces (a tiny http.server script), started with the execute API and
  spread over the users, kept alive with ping-interface every 5 s and fetched
  through the authenticated proxy about once a second;
* 20 WebSocket viewers of 20 running ticker scripts (a timestamped line every
  100 ms), measuring print-to-receive latency per line.

The client is asyncio (httpx + websockets) in this process. Prints requests
per second, p50/p95/p99 and errors per request kind, the streams' figures,
where the CPU went, and PASS/MISS against the aim: no errors, p99 under
300 ms for pages on PostgreSQL. With `wrk` installed, also a pure-throughput
figure on the dashboard. Every interface and ticker is stopped at the end and
no port allocation may be left live.

    .venv/bin/python bench/load.py [--backend embedded|postgres|both] [--duration 60]
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptsmanager.settings_test")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import psutil  # noqa: E402
import websockets  # noqa: E402
from django.conf import settings  # noqa: E402
from websockets.exceptions import WebSocketException  # noqa: E402

from scriptsmanager.localservices import PostgresServer, RedisServer  # noqa: E402
from scriptsmanager.testing import (  # noqa: E402
    PERSONA_PASSWORD,
    app_database_query,
    app_env,
    running_app,
)

PAGE_KINDS = ("dashboard", "group", "logs page", "logs API")
OTHER_KINDS = ("interface", "ping")
AIM_P99_MS = 300.0
EXTRA_OPERATORS = [f"load_op{n:02d}" for n in range(10)]
OPERATORS = ["op_otto", "op_olga", *EXTRA_OPERATORS]
LOGS_PER_OPERATOR = 50
PING_EVERY = 5.0
INTERFACE_GET_EVERY = 1.0
TICK_SECONDS = 0.1

UI_SCRIPT = '''"""
ScriptsManager Metadata:
@display_name: Load UI
@description: A tiny web interface for the load bench.
@interface: true
@required_level: viewer
@execution_timeout: {timeout}
"""
import argparse
import http.server

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
args, _ = parser.parse_known_args()
PAGE = b"<!doctype html><title>load</title><h1>load bench interface</h1>" + b"x" * 2000


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
'''

TICKER_SCRIPT = '''"""
ScriptsManager Metadata:
@display_name: Load ticker
@description: Prints a timestamped line every 100 ms.
@interface: false
@required_level: viewer
@execution_timeout: {timeout}
"""
import time

for i in range({lines}):
    print(f"{{time.time():.6f}} tick {{i}}", flush=True)
    time.sleep({tick})
'''

FILLER_SCRIPT = '''"""
ScriptsManager Metadata:
@display_name: {title}
@description: {title}: reads the line data and writes a report for the shift.
@tags: load, {tag}
@interface: false
@required_level: operator
"""
print("done")
'''

SEED = """
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from catalog.models import Script
from logs.models import ExecutionLog
from projects.services import project_ensure_default

for name in {extra!r}:
    if not User.objects.filter(username=name).exists():
        User.objects.create_user(username=name, email=name + "@example.com",
            password={password!r}, user_level="operator")
scripts = list(Script.objects.select_related("group").filter(is_active=True))
rng = random.Random(7)
now = timezone.now()
rows, starts = [], []
for user in User.objects.filter(username__in={operators!r}):
    for n in range({per_user}):
        script = rng.choice(scripts)
        project = project_ensure_default(user=user, group=script.group)
        ok = rng.random() < 0.85
        duration = rng.uniform(0.2, 120.0)
        start = now - timedelta(minutes=rng.uniform(5, 60 * 24 * 30))
        starts.append(start)
        rows.append(ExecutionLog(
            script=script, script_name=script.filename, user=user, username=user.username,
            project=project, project_name=project.name,
            status="completed" if ok else "failed", exit_code=0 if ok else 1,
            end_time=start + timedelta(seconds=duration), duration_seconds=duration,
            output="".join(f"step {{i}}: value {{rng.random():.4f}}\\n" for i in range(40)),
            error_output="" if ok else "Traceback: ValueError: bad reading\\n",
        ))
created = ExecutionLog.objects.bulk_create(rows)
with transaction.atomic():
    for log, start in zip(created, starts):
        ExecutionLog.objects.filter(pk=log.pk).update(start_time=start)
print(ExecutionLog.objects.count())
"""


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@dataclass
class Stats:
    """Latency (ms) and errors per request kind, for requests started in the window."""

    start: float = 0.0
    end: float = float("inf")
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, str] = field(default_factory=dict)

    def record(self, kind: str, started: float, error: str | None, detail: str = "") -> None:
        if not self.start <= started < self.end:
            return
        self.samples[kind].append((time.monotonic() - started) * 1000)
        if error:
            self.errors[kind][error] += 1
            self.examples.setdefault(f"{kind}: {error}", detail[:300])


@dataclass
class StreamStats:
    connected: int = 0
    lines: int = 0
    delays_ms: list[float] = field(default_factory=list)
    disconnects: int = 0
    ended_early: int = 0
    errors: Counter = field(default_factory=Counter)


class Client:
    """One virtual user: its own httpx client and session."""

    def __init__(self, url: str, username: str) -> None:
        self.url = url
        self.username = username
        self.http = httpx.AsyncClient(
            base_url=url, timeout=httpx.Timeout(30.0), follow_redirects=False
        )

    def csrf(self) -> str:
        return next(c.value for c in self.http.cookies.jar if c.name == "csrftoken")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar)

    async def login(self) -> None:
        await self.http.get("/api/auth/user", headers={"Accept": "application/json"})
        reply = await self.http.post(
            "/api/auth/login",
            json={"username": self.username, "password": PERSONA_PASSWORD},
            headers={"X-CSRFToken": self.csrf(), "Accept": "application/json"},
        )
        if reply.status_code != 200:
            raise RuntimeError(f"login {self.username}: {reply.status_code} {reply.text[:200]}")

    async def request(
        self, stats: Stats, kind: str, method: str, path: str, body: object = None
    ) -> httpx.Response | None:
        headers = {"Accept": "application/json" if path.startswith("/api/") else "text/html"}
        if method != "GET":
            headers["X-CSRFToken"] = self.csrf()
        started = time.monotonic()
        try:
            reply = await self.http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as error:
            stats.record(kind, started, type(error).__name__, str(error))
            return None
        error = None if reply.status_code == 200 else f"HTTP {reply.status_code}"
        stats.record(kind, started, error, f"{method} {path}: {reply.text}")
        return reply


async def browse(client: Client, rng: random.Random, groups: list[int], stats: Stats, think: float):
    await asyncio.sleep(rng.uniform(0, think))
    while time.monotonic() < stats.end:
        for kind in PAGE_KINDS:
            if time.monotonic() >= stats.end:
                return
            path = {
                "dashboard": "/",
                "group": f"/groups/{rng.choice(groups)}/",
                "logs page": "/logs/",
                "logs API": "/api/logs/execution",
            }[kind]
            await client.request(stats, kind, "GET", path)
            await asyncio.sleep(rng.uniform(0, think))


async def keep_interface(client: Client, rng: random.Random, started: dict, stats: Stats):
    script_id, execution_id, app_url = (
        started["script_id"],
        started["execution_id"],
        started["app_url"],
    )
    next_ping = time.monotonic() + rng.uniform(0, PING_EVERY)
    await asyncio.sleep(rng.uniform(0, INTERFACE_GET_EVERY))
    while time.monotonic() < stats.end:
        if time.monotonic() >= next_ping:
            next_ping += PING_EVERY
            await client.request(
                stats,
                "ping",
                "POST",
                f"/api/scripts/{script_id}/ping-interface",
                {"execution_id": execution_id, "active": True},
            )
        await client.request(stats, "interface", "GET", app_url)
        await asyncio.sleep(rng.uniform(0.5, 1.5) * INTERFACE_GET_EVERY)


async def watch(client: Client, execution_id: str, stream: StreamStats, window: list[float]):
    """Follow one ticker's stdout until the window ends; delays for lines printed in it.
    `window` is [start, end] in wall-clock seconds, set when the load begins."""
    ws_url = client.url.replace("http://", "ws://") + f"/ws/logs/{execution_id}/"
    offset, pending = 0, ""
    for _attempt in range(10):
        if time.time() >= window[1]:
            return
        try:
            async with websockets.connect(
                ws_url + (f"?stdout={offset}" if offset else ""),
                additional_headers={"Cookie": client.cookie_header(), "Origin": client.url},
                open_timeout=15,
            ) as socket:
                stream.connected += 1
                while True:
                    remaining = window[1] - time.time()
                    if remaining <= 0:
                        return
                    try:
                        raw = await asyncio.wait_for(socket.recv(), remaining)
                    except TimeoutError:
                        return
                    now = time.time()
                    message = json.loads(raw)
                    if message["type"] == "end":
                        stream.ended_early += 1
                        return
                    if message["type"] != "output" or message["stream"] != "stdout":
                        continue
                    offset = message["offset"]
                    pending += message["data"]
                    *lines, pending = pending.split("\n")
                    for line in lines:
                        printed = float(line.split()[0])
                        if window[0] <= printed < window[1]:
                            stream.lines += 1
                            stream.delays_ms.append((now - printed) * 1000)
        except (OSError, TimeoutError, WebSocketException) as error:
            stream.disconnects += 1
            stream.errors[type(error).__name__] += 1
            await asyncio.sleep(0.5)


async def loop_lag(stats: Stats, lags: list[float]) -> None:
    """How late this client's event loop wakes up: high values mean the load
    generator itself was short of CPU and its latencies are inflated."""
    while time.monotonic() < stats.end:
        before = time.monotonic()
        await asyncio.sleep(0.05)
        lags.append((time.monotonic() - before - 0.05) * 1000)


class CpuMeter:
    """CPU seconds used by groups of processes between `begin` and `end`."""

    def __init__(self, groups) -> None:
        self.groups = groups  # callable -> {group: [psutil.Process]}
        self.before: dict[int, float] = {}

    @staticmethod
    def _cpu(process: psutil.Process) -> float | None:
        """Its own CPU time plus its reaped children's: PostgreSQL backends and
        scripts that ended during the window still count, through their parent."""
        try:
            times = process.cpu_times()
            return times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            return None

    def begin(self) -> None:
        self.machine = psutil.cpu_times()
        self.began = time.monotonic()
        for processes in self.groups().values():
            for process in processes:
                cpu = self._cpu(process)
                if cpu is not None:
                    self.before[process.pid] = cpu

    def end(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for name, processes in self.groups().items():
            total = 0.0
            for process in processes:
                cpu = self._cpu(process)
                if cpu is not None:
                    total += cpu - self.before.get(process.pid, 0.0)
            used[name] = total
        machine = psutil.cpu_times()
        idle = (machine.idle + getattr(machine, "iowait", 0.0)) - (
            self.machine.idle + getattr(self.machine, "iowait", 0.0)
        )
        wall = time.monotonic() - self.began
        used["machine busy"] = max(0.0, wall * psutil.cpu_count() - idle)
        used["wall"] = wall
        return used


def tree(pid: int | None) -> list[psutil.Process]:
    if not pid:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


async def run_load(url: str, args, cpu: CpuMeter, db_probe) -> dict:
    setup = Stats()
    stats = Stats()
    streams = StreamStats()
    rng = random.Random(args.seed)
    clients = [Client(url, OPERATORS[i % len(OPERATORS)]) for i in range(args.users)]
    result: dict = {"setup": setup, "stats": stats, "streams": streams}
    interfaces: list[tuple[Client, dict]] = []
    tickers: list[tuple[Client, dict]] = []
    try:
        # Logins are bcrypt: a few at a time, as the setup, not the measure.
        gate = asyncio.Semaphore(4)

        async def login(client: Client) -> None:
            async with gate:
                began = time.monotonic()
                await client.login()
                setup.samples["login"].append((time.monotonic() - began) * 1000)

        await asyncio.gather(*(login(c) for c in clients))
        first = clients[0]
        groups = (await first.http.get("/api/script-groups")).json()
        group_ids = [g["id"] for g in groups]
        by_name = {}
        for group in groups:
            for script in (
                await first.http.get(f"/api/script-groups/{group['id']}/scripts")
            ).json():
                by_name[script["filename"]] = script["id"]
        ui_id, ticker_id = by_name["load_ui.py"], by_name["load_ticker.py"]

        async def start(client: Client, script_id: int, kind: str, into: list) -> None:
            async with gate:
                reply = await client.request(
                    setup, kind, "POST", f"/api/scripts/{script_id}/execute", {"parameters": {}}
                )
            if (
                reply is not None
                and reply.status_code == 200
                and reply.json()["status"] == "running"
            ):
                into.append((client, {**reply.json(), "script_id": script_id}))
            elif reply is not None:
                setup.errors[kind][f"{reply.status_code} {reply.text[:120]}"] += 1

        await asyncio.gather(
            *(
                start(clients[i], ui_id, "execute interface", interfaces)
                for i in range(args.interfaces)
            ),
            *(
                start(
                    clients[(args.interfaces + i) % len(clients)],
                    ticker_id,
                    "execute ticker",
                    tickers,
                )
                for i in range(args.streams)
            ),
        )
        result["interfaces_started"] = len(interfaces)
        result["tickers_started"] = len(tickers)
        window = [time.time() + 2.0, float("inf")]
        watchers = [
            asyncio.create_task(watch(client, started["execution_id"], streams, window))
            for client, started in tickers
        ]
        await asyncio.sleep(max(0.0, window[0] - time.time()))
        # The measured window.
        stats.start = time.monotonic()
        stats.end = stats.start + args.duration
        window[1] = window[0] + args.duration
        cpu.begin()
        db_before = await asyncio.to_thread(db_probe)
        lags: list[float] = []
        await asyncio.gather(
            loop_lag(stats, lags),
            *(
                browse(c, random.Random(rng.random()), group_ids, stats, args.think_ms / 1000)
                for c in clients
            ),
            *(keep_interface(c, random.Random(rng.random()), s, stats) for c, s in interfaces),
        )
        result["cpu"] = cpu.end()
        db_after = await asyncio.to_thread(db_probe)
        result["db"] = {key: db_after[key] - db_before[key] for key in db_before}
        result["elapsed"] = time.monotonic() - stats.start
        result["loop_lag"] = lags
        await asyncio.gather(*watchers)
        await stop_all(setup, [*interfaces, *tickers])
        interfaces.clear()
        tickers.clear()
        if args.wrk_seconds > 0 and shutil.which("wrk"):
            result["wrk"] = await asyncio.to_thread(run_wrk, url, clients[0].cookie_header(), args)
    finally:
        # Whatever is still running (an error cut the run short) is stopped too.
        await stop_all(setup, [*interfaces, *tickers])
        await asyncio.gather(*(c.http.aclose() for c in clients))
    return result


async def stop_all(setup: Stats, started: list[tuple[Client, dict]]) -> None:
    """Stop each execution, a few at a time."""
    gate = asyncio.Semaphore(8)
    pending = list(started)

    async def stop(client: Client, execution: dict) -> None:
        async with gate:
            await client.request(
                setup,
                "stop",
                "POST",
                f"/api/scripts/{execution['script_id']}/stop",
                {"execution_id": execution["execution_id"]},
            )

    await asyncio.gather(*(stop(c, e) for c, e in pending))


def run_wrk(url: str, cookie: str, args) -> dict:
    """Pure throughput on the dashboard for one logged-in session (wrk, 2 threads)."""
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{args.users}",
            f"-d{args.wrk_seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-H",
            f"Cookie: {cookie}",
            url + "/",
        ],
        capture_output=True,
        text=True,
        timeout=args.wrk_seconds + 30,
        check=False,
    ).stdout

    def find(pattern: str) -> str | None:
        match = re.search(pattern, output)
        return match.group(1) if match else None

    return {
        "rps": find(r"Requests/sec:\s+([\d.]+)"),
        "p50": find(r"\s50%\s+(\S+)"),
        "p99": find(r"\s99%\s+(\S+)"),
        "requests": find(r"(\d+) requests in"),
        "non2xx": find(r"Non-2xx or 3xx responses: (\d+)") or "0",
        "socket_errors": find(r"Socket errors: (.+)") or "none",
    }


def write_scripts(root: Path, duration: float) -> None:
    lifetime = int(duration + 240)
    bench = root / "load_bench"
    bench.mkdir(parents=True)
    (bench / "load_ui.py").write_text(UI_SCRIPT.format(timeout=lifetime))
    (bench / "load_ticker.py").write_text(
        TICKER_SCRIPT.format(
            timeout=lifetime, lines=int(lifetime / TICK_SECONDS), tick=TICK_SECONDS
        )
    )
    for group, count in (("line_reports", 10), ("maintenance_tools", 6), ("quality", 8)):
        folder = root / group
        folder.mkdir()
        for n in range(count):
            title = f"{group.replace('_', ' ').title()} {n + 1}"
            (folder / f"{group}_{n + 1:02d}.py").write_text(
                FILLER_SCRIPT.format(title=title, tag=group.replace("_", "-"))
            )


def leftover_processes(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if any(marker in part for part in process.info["cmdline"] or ()):
                found.append(process)
    return [p for p in found if p.pid != os.getpid()]


def run_backend(name: str, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="sm-load-") as work:
        work_path = Path(work)
        scripts_dir = work_path / "script_groups"
        data_dir = work_path / "data"
        data_dir.mkdir()
        write_scripts(scripts_dir, args.duration)
        port_start = random.Random().randrange(30000, 39000)
        extra_env = {
            "SCRIPT_GROUPS_DIR": str(scripts_dir),
            "MAX_CONCURRENT_INTERFACES": str(max(40, args.interfaces * 2)),
            "MAX_INTERFACES_PER_USER": "5",
            "MAX_CONCURRENT_RUNS": str(max(50, (args.interfaces + args.streams) * 2)),
            # Away from the default 5200-5400, which other runs on this machine use.
            "PORT_RANGE_START": str(port_start),
            "PORT_RANGE_END": str(port_start + 199),
            **dict(item.split("=", 1) for item in args.env),
        }
        began = time.monotonic()
        with running_app(
            data_dir, extra_env=extra_env, serve_args=("--workers", str(args.workers))
        ) as url:
            port = urlsplit(url).port
            seed = SEED.format(
                extra=EXTRA_OPERATORS,
                operators=OPERATORS,
                password=PERSONA_PASSWORD,
                per_user=LOGS_PER_OPERATOR,
            )
            seeded = (
                subprocess.run(
                    [sys.executable, str(settings.BASE_DIR / "manage.py"), "shell", "-c", seed],
                    env=app_env(data_dir, port, extra_env),
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            print(f"  app at {url} ({args.workers} web workers), {seeded} execution logs seeded")

            def groups():
                found: dict[str, list[psutil.Process]] = {
                    part: [] for part in ("web", "jobs", "watcher", "supervisor", "serve")
                }
                found["scripts"] = []
                for process in tree(url.process.pid):
                    found[_app_part(process, str(scripts_dir))].append(process)
                found["load client"] = [psutil.Process()]
                if args.postgres_pid:
                    found["postgres"] = tree(args.postgres_pid)
                if args.redis_pid:
                    found["redis"] = tree(args.redis_pid)
                return found

            def db_probe() -> dict[str, int]:
                """PostgreSQL's count of sessions opened and transactions in the app's database."""
                if name != "postgres":
                    return {}
                sessions, commits = app_database_query(
                    data_dir,
                    "SELECT sessions, xact_commit + xact_rollback FROM pg_stat_database "
                    "WHERE datname = current_database()",
                )[0]
                return {"sessions": sessions, "transactions": commits}

            result = asyncio.run(run_load(url, args, CpuMeter(groups), db_probe))
            deadline = time.monotonic() + 30
            while True:
                live = app_database_query(
                    data_dir,
                    "SELECT COUNT(*) FROM execution_portallocation WHERE released_at IS NULL",
                )[0][0]
                if live == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            result["ports_live"] = live
            result["serve_log_errors"] = _serve_log_errors(data_dir)
            if args.keep_logs:
                kept = Path(args.keep_logs) / name
                kept.mkdir(parents=True, exist_ok=True)
                for log in [*data_dir.glob("serve-*.log"), *data_dir.glob("logs/system/*.log")]:
                    shutil.copy(log, kept / log.name)
        leftovers = leftover_processes(work)
        for process in leftovers:
            with contextlib.suppress(psutil.Error):
                process.kill()
        result["leftovers"] = len(leftovers)
        result["total_seconds"] = time.monotonic() - began
        return result


def _app_part(process: psutil.Process, scripts_dir: str) -> str:
    """Which part of the app a process of `manage.py serve`'s tree is."""
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return "serve"
    if scripts_dir in command:
        return "scripts"  # a runner or the script it runs
    for needle, part in (
        ("daphne", "web"),
        ("qcluster", "jobs"),
        ("watch_scripts", "watcher"),
        ("supervise", "supervisor"),
    ):
        if needle in command:
            return part
    return "serve"


def _serve_log_errors(data_dir: Path) -> list[tuple[int, list[str]]]:
    """Distinct errors logged by the server (its access log aside): each as
    (times seen, the ERROR line and the end of its traceback)."""
    seen: dict[str, list] = {}

    def flush(block: list[str]) -> None:
        if block:
            key = re.sub(r"\d+", "N", block[0].split(" ERROR ", 1)[-1]) + block[-1]
            seen.setdefault(key, [0, block])[0] += 1

    for log in sorted(data_dir.glob("serve-*.log")):
        block: list[str] = []
        for line in log.read_text(errors="replace").splitlines():
            if " ERROR " in line:
                flush(block)
                block = [line]
            elif block and (
                line.startswith((" ", "Traceback", "During handling"))
                or not line.strip()
                or block[-1].startswith(" ")  # the exception line after the frames
            ):
                block.append(line)
            else:
                flush(block)
                block = []
        flush(block)
    return [
        (count, [lines[0], *lines[-6:]] if len(lines) > 7 else lines)
        for count, lines in seen.values()
    ]


def report(name: str, result: dict, args) -> list[tuple[str, bool]]:
    stats: Stats = result["stats"]
    setup: Stats = result["setup"]
    streams: StreamStats = result["streams"]
    elapsed = result.get("elapsed", args.duration)
    verdicts: list[tuple[str, bool]] = []
    print(
        f"  {args.users} users, {result['interfaces_started']}/{args.interfaces} interfaces, "
        f"{result['tickers_started']}/{args.streams} tickers, {elapsed:.0f} s measured"
    )
    for kind in ("login", "execute interface", "execute ticker", "stop"):
        samples = setup.samples.get(kind, [])
        if samples:
            errors = sum(setup.errors[kind].values())
            print(
                f"  setup {kind:<18} {len(samples):>4}  p50 {statistics.median(samples):6.0f} ms"
                f"  max {max(samples):6.0f} ms  errors {errors}"
            )
    total = sum(len(stats.samples[k]) for k in (*PAGE_KINDS, *OTHER_KINDS))
    pages = sum(len(stats.samples[k]) for k in PAGE_KINDS)
    print(
        f"  requests/s: {total / elapsed:.1f} overall, {pages / elapsed:.1f} pages "
        f"({total} requests)"
    )
    print(
        f"  {'kind':<12}{'count':>7}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'max ms':>8}{'errors':>8}"
    )
    all_pages: list[float] = []
    for kind in (*PAGE_KINDS, *OTHER_KINDS):
        samples = stats.samples.get(kind, [])
        errors = sum(stats.errors[kind].values())
        if kind in PAGE_KINDS:
            all_pages += samples
        if not samples:
            print(f"  {kind:<12}{0:>7}")
            continue
        print(
            f"  {kind:<12}{len(samples):>7}{len(samples) / elapsed:>8.1f}"
            f"{percentile(samples, 50):>8.0f}{percentile(samples, 95):>8.0f}"
            f"{percentile(samples, 99):>8.0f}{max(samples):>8.0f}{errors:>8}"
        )
    for kind, counter in sorted(stats.errors.items()):
        for error, count in counter.most_common():
            example = stats.examples.get(f"{kind}: {error}", "")
            print(f"    error {kind}: {error} x{count}  e.g. {example[:160]!r}")
    for kind, counter in sorted(setup.errors.items()):
        for error, count in counter.most_common():
            print(f"    setup error {kind}: {error} x{count}")
    delays = streams.delays_ms
    expected = result["tickers_started"] * elapsed / TICK_SECONDS
    if delays:
        print(
            f"  WebSocket streams: {streams.connected} connected, {streams.lines} lines "
            f"(~{expected:.0f} printed), print to receive p50 {percentile(delays, 50):.0f} ms, "
            f"p99 {percentile(delays, 99):.0f} ms, max {max(delays):.0f} ms, "
            f"disconnects {streams.disconnects}, ended early {streams.ended_early}"
            + (f" ({dict(streams.errors)})" if streams.errors else "")
        )
    else:
        print(f"  WebSocket streams: {streams.connected} connected, no lines received")
    lags = result.get("loop_lag") or [0.0]
    cpu = result.get("cpu", {})
    wall = cpu.get("wall", elapsed)
    shares = ", ".join(
        f"{key} {value / wall * 100:.0f}%"
        for key, value in cpu.items()
        if key not in ("wall", "machine busy")
    )
    ours = sum(v for k, v in cpu.items() if k not in ("wall", "machine busy"))
    print(
        f"  CPU during the window (% of one core): {shares}; machine "
        f"{cpu.get('machine busy', 0) / wall * 100:.0f}% of {psutil.cpu_count() * 100}% "
        f"(others {max(0.0, cpu.get('machine busy', 0) - ours) / wall * 100:.0f}%); "
        f"client loop lag p99 {percentile(lags, 99):.0f} ms"
    )
    if result.get("db"):
        db = result["db"]
        print(
            f"  PostgreSQL: {db['sessions'] / wall:.0f} connections opened/s, "
            f"{db['transactions'] / wall:.0f} transactions/s "
            f"({db['sessions'] / max(1, total):.2f} connections per HTTP request)"
        )
    if "wrk" in result:
        wrk = result["wrk"]
        print(
            f"  wrk dashboard, {args.users} connections, {args.wrk_seconds} s, one session: "
            f"{wrk['rps']} req/s, p50 {wrk['p50']}, p99 {wrk['p99']}, "
            f"non-2xx {wrk['non2xx']}, socket errors {wrk['socket_errors']}"
        )
    print(f"  port allocations left live after stopping: {result['ports_live']}")
    if result["leftovers"]:
        print(f"  processes left behind (killed): {result['leftovers']}")
    for count, lines in result["serve_log_errors"]:
        print(f"  server log error, {count} time(s):")
        for line in lines:
            print(f"    {line[:220]}")
    # Verdicts.
    aim = "aim" if name == "postgres" else "reference, the aim is PostgreSQL's"
    for kind in PAGE_KINDS:
        samples = stats.samples.get(kind, [])
        p99 = percentile(samples, 99) if samples else float("inf")
        verdicts.append(
            (f"{kind} p99 {p99:.0f} ms < {AIM_P99_MS:.0f} ms ({aim})", p99 < AIM_P99_MS)
        )
    errors = sum(sum(c.values()) for c in stats.errors.values())
    verdicts.append((f"errors during the load: {errors}", errors == 0))
    setup_errors = sum(sum(c.values()) for c in setup.errors.values())
    verdicts.append((f"errors in setup/stop: {setup_errors}", setup_errors == 0))
    verdicts.append(
        (
            f"WebSocket disconnects: {streams.disconnects}, streams connected "
            f"{streams.connected}/{args.streams}",
            streams.disconnects == 0 and streams.connected >= args.streams,
        )
    )
    verdicts.append(
        (f"port allocations left live: {result['ports_live']}", result["ports_live"] == 0)
    )
    logged = sum(count for count, _lines in result["serve_log_errors"])
    verdicts.append((f"errors in the server's log: {logged}", logged == 0))
    for text, ok in verdicts:
        print(f"  {'PASS' if ok else 'MISS'}  {text}")
    return verdicts


@contextlib.contextmanager
def backend_environment(name: str, args):
    """DATABASE_URL/REDIS_URL for the backend: unset for the embedded default;
    throw-away PostgreSQL + Redis servers for postgres (unless already given)."""
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL")}
    folder = None
    postgres = redis = None
    try:
        args.postgres_pid = args.redis_pid = None
        if name == "embedded":
            for key in saved:
                os.environ.pop(key, None)
        elif not (saved["DATABASE_URL"] or "").startswith("postgres"):
            folder = Path(tempfile.mkdtemp(prefix="sm-load-services-"))
            os.chmod(folder, 0o755)  # noqa: S103 - the postgres account must reach its folder
            postgres = PostgresServer(folder / "postgres")
            redis = RedisServer(folder / "redis")
            postgres.start()
            postgres.create_database()
            redis.start()
            os.environ["DATABASE_URL"] = postgres.url
            os.environ["REDIS_URL"] = redis.url
            pid_file = postgres.data / "postmaster.pid"
            args.postgres_pid = int(pid_file.read_text().split()[0])
            args.redis_pid = redis.process.pid
        yield
    finally:
        for stop in (redis.stop if redis else None, postgres.stop if postgres else None):
            if stop is not None:
                try:
                    stop()
                except Exception as error:  # noqa: BLE001 - report and go on cleaning up
                    print(f"while stopping: {error}", file=sys.stderr)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("embedded", "postgres", "both"), default="both")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--workers", type=int, default=2, help="web workers of serve")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--interfaces", type=int, default=20)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--think-ms", type=float, default=200.0, help="max random think time")
    parser.add_argument("--wrk-seconds", type=int, default=10, help="0: no wrk run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the server's logs there")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the app (repeatable), e.g. Q_WORKERS=1",
    )
    args = parser.parse_args()
    backends = ("embedded", "postgres") if args.backend == "both" else (args.backend,)
    print(
        f"{psutil.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the run; "
        f"wrk {'found' if shutil.which('wrk') else 'not installed (apt-get install wrk)'}"
    )
    failed = []
    for name in backends:
        label = "embedded (SQLite, in-memory layer)" if name == "embedded" else "PostgreSQL + Redis"
        print(f"\n== {label}")
        with backend_environment(name, args):
            result = run_backend(name, args)
        verdicts = report(name, result, args)
        print(f"  ({result['total_seconds']:.0f} s for this backend, set-up included)")
        failed += [f"{name}: {text}" for text, ok in verdicts if not ok]
    print("\n" + ("all PASS" if not failed else f"{len(failed)} MISS"))


if __name__ == "__main__":
    main()
