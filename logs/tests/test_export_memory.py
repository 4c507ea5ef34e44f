"""Downloads and exports stream from disk: the real server's web worker does not
grow with the size of the log (a 200 MB one here) nor with the number of logs
exported together (1000).

The worker's peak resident memory is read from the kernel (VmHWM, reset
through /proc/<pid>/clear_refs before each download), so no sample can miss
the peak.
"""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest
from django.conf import settings

from scriptsmanager.testing import ApiSession, app_env, free_port, running_app

# Its subject does not depend on the database: run on one backend (bin/test).
pytestmark = pytest.mark.one_backend

MIB = 1024 * 1024
BIG_MIB = 200
GROWTH_LIMIT = 50 * MIB
EXPORTED = 1000

# Run inside the app (manage.py shell): a finished run of op_otto whose stdout
# file is written directly (BIG_MIB of 100-byte lines, some of them characters
# that JSON and CSV must escape), plus EXPORTED - 1 small runs. Prints the ids.
MAKE_LOGS = """
import json
from pathlib import Path
from django.conf import settings
from django.utils import timezone
from accounts.models import User
from logs.models import ExecutionLog
from logs.services import log_record_write

user = User.objects.get(username="op_otto")
folder = Path(settings.LOGS_DIR) / "executions" / "op_otto" / "2026-12-07"
folder.mkdir(parents=True, exist_ok=True)

def make(size_mib):
    log = ExecutionLog.objects.create(
        user=user, username="op_otto", script_name="big.py", project_name="project_default",
        status="completed", exit_code=0, duration_seconds=1.0, end_time=timezone.now(),
    )
    stem = folder / f"execution_{log.execution_uuid}"
    line = ('reading "%08d" \\\\ é ' + "x" * 73 + "\\n")
    block = "".join(line % i for i in range(10_000)).encode()
    with open(f"{stem}.stdout.log", "wb") as out:
        for _ in range(size_mib * 1024 * 1024 // len(block)):
            out.write(block)
        out.write(block[: size_mib * 1024 * 1024 % len(block)])
    Path(f"{stem}.stderr.log").write_bytes(b"a warning\\n")
    log.stdout_path = str(Path(f"{stem}.stdout.log").relative_to(settings.LOGS_DIR))
    log.stderr_path = str(Path(f"{stem}.stderr.log").relative_to(settings.LOGS_DIR))
    log.output = "the last lines\\n"
    log.save()
    log_record_write(log)
    return str(log.execution_uuid)

ids = [make(BIG_MIB)] + [make(0) for _ in range(SMALL)]
print(json.dumps(ids))
"""


def web_worker(app) -> psutil.Process:
    """The daphne process of `manage.py serve`, which answers the requests."""
    for child in psutil.Process(app.process.pid).children(recursive=True):
        if any("daphne" in part for part in child.cmdline()):
            return child
    raise AssertionError("no daphne worker under manage.py serve")


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def fetch(session: ApiSession, path: str, body: dict | None = None) -> int:
    """Download `path` reading 1 MiB at a time; the number of bytes received."""
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "X-CSRFToken": session.csrf_token()}
    request = urllib.request.Request(session.url + path, data=data, headers=headers)
    received = 0
    with session.opener.open(request, timeout=300) as response:
        assert response.status == 200
        while chunk := response.read(MIB):
            received += len(chunk)
    return received


def peak_growth(worker: psutil.Process, download) -> tuple[int, int]:
    """(bytes the worker's peak resident memory rose above its current
    resident memory during `download()`, what `download()` returned)."""
    Path(f"/proc/{worker.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = status_kib(worker.pid, "VmRSS")
    result = download()
    return (status_kib(worker.pid, "VmHWM") - before) * 1024, result


@pytest.fixture(scope="module")
def big_app(tmp_path_factory):
    data = tmp_path_factory.mktemp("export-memory")
    with running_app(data) as url:
        env = app_env(data, free_port())
        made = subprocess.run(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "shell", "-c",
             MAKE_LOGS.replace("BIG_MIB", str(BIG_MIB)).replace("SMALL", str(EXPORTED - 1))],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        ids = json.loads(made.stdout.strip().splitlines()[-1])
        session = ApiSession(url)
        assert session.login("op_otto")[0] == 200
        yield url, session, ids


@pytest.mark.parametrize("fmt", ["txt", "json", "csv", "pdf"])
def test_downloading_a_200_mb_log_keeps_the_workers_memory_flat(big_app, fmt):
    url, session, ids = big_app
    big, small = ids[0], ids[1]
    worker = web_worker(url)
    # The first download of a format loads its code (fpdf2 and its font...):
    # not what is measured.
    fetch(session, f"/api/logs/execution/{small}/download?format={fmt}")

    growth, size = peak_growth(
        worker, lambda: fetch(session, f"/api/logs/execution/{big}/download?format={fmt}")
    )

    if fmt != "pdf":  # the PDF holds the first lines only
        assert size >= BIG_MIB * MIB
    assert growth < GROWTH_LIMIT, f"{fmt}: the worker grew by {growth / MIB:.0f} MiB"


@pytest.mark.parametrize("fmt", ["txt", "json", "csv"])
def test_exporting_1000_logs_with_a_200_mb_one_keeps_the_workers_memory_flat(big_app, fmt):
    url, session, ids = big_app
    worker = web_worker(url)
    body = {"execution_ids": ids, "format": fmt}
    fetch(session, "/api/logs/export", {"execution_ids": ids[1:3], "format": fmt})

    growth, size = peak_growth(worker, lambda: fetch(session, "/api/logs/export", body))

    assert size >= BIG_MIB * MIB
    assert growth < GROWTH_LIMIT, f"{fmt}: the worker grew by {growth / MIB:.0f} MiB"
