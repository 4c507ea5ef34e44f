"""Launch overhead: from the execute request to the interface answering through
the proxy, against starting the same script by hand and polling its port.

Aim: the manager adds under 15 % to the plain start.
"""

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptsmanager.settings_test")

import django  # noqa: E402

django.setup()

from scriptsmanager.testing import ApiSession, free_port, running_app  # noqa: E402

RUNS = 7
SCRIPT = ROOT / "app" / "backend" / "script_groups" / "thermal_analysis" / "heat_transfer.py"


def by_hand(data: Path) -> float:
    port = free_port()
    argv = [
        sys.executable, str(SCRIPT), "--data-dir", str(data), "--user-level", "operator",
        "--port", str(port), "--project-id", "1", "--project-name", "bench",
        "--theme", "light", "--language", "en",
    ]  # fmt: skip
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=SCRIPT.parent
    )
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.03)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as reply:
            reply.read()
        return time.perf_counter() - start
    finally:
        process.terminate()
        process.wait()


def through_manager(session: ApiSession, script_id: int) -> float:
    start = time.perf_counter()
    status, body = session.request("POST", f"/api/scripts/{script_id}/execute", {"parameters": {}})
    assert status == 200 and body["status"] == "running", body
    status, page = session.request("GET", body["app_url"])
    assert status == 200
    elapsed = time.perf_counter() - start
    session.request(
        "POST", f"/api/scripts/{script_id}/stop", {"execution_id": body["execution_id"]}
    )
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        hand = [by_hand(Path(work)) for _ in range(RUNS)]
        with running_app(Path(work) / "app") as url:
            session = ApiSession(url)
            session.login("op_otto")
            groups = session.request("GET", "/api/script-groups")[1]
            thermal = next(g for g in groups if g["directory_name"] == "thermal_analysis")
            scripts = session.request("GET", f"/api/script-groups/{thermal['id']}/scripts")[1]
            script_id = next(s["id"] for s in scripts if s["filename"] == "heat_transfer.py")
            through_manager(session, script_id)  # warm-up
            managed = [through_manager(session, script_id) for _ in range(RUNS)]
    plain, via = statistics.median(hand), statistics.median(managed)
    overhead = (via - plain) / plain * 100
    print(f"script: {SCRIPT.name} (Flask), {RUNS} runs each, medians")
    print(f"by hand, start to first page:               {plain * 1000:.0f} ms")
    print(f"manager, execute request to page via proxy: {via * 1000:.0f} ms")
    verdict = "ok" if overhead < 15 else "OVER"
    print(f"ratio {via / plain:.2f}, overhead {overhead:.0f} % (aim < 15 %: {verdict})")


if __name__ == "__main__":
    main()
