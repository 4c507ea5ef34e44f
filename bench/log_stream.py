"""Print-to-client latency of live logs over the WebSocket, on the real server.

A script prints a timestamped line every 20 ms (flushed) for 8 s; a WebSocket
client logged in as its owner measures, per line, receive time minus print
time. Aim: p99 under 250 ms.
"""

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptsmanager.settings_test")

import django  # noqa: E402

django.setup()

import websockets  # noqa: E402

from scriptsmanager.testing import ApiSession, running_app  # noqa: E402

SCRIPT = '''"""
@interface: false
@required_level: viewer
"""
import time
for i in range(400):
    print(f"{time.time():.6f} line {i}", flush=True)
    time.sleep(0.02)
'''


async def listen(url: str, cookie: str, execution_id: str) -> list[float]:
    delays = []
    pending = ""
    ws_url = url.replace("http://", "ws://") + f"/ws/logs/{execution_id}/"
    async with websockets.connect(
        ws_url, additional_headers={"Cookie": cookie, "Origin": url}
    ) as socket:
        async for raw in socket:
            message = json.loads(raw)
            now = time.time()
            if message["type"] == "end":
                break
            if message["stream"] != "stdout":
                continue
            pending += message["data"]
            *lines, pending = pending.split("\n")
            delays += [now - float(line.split()[0]) for line in lines if line]
    return delays


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        scripts = Path(work) / "script_groups" / "bench"
        scripts.mkdir(parents=True)
        (scripts / "ticker.py").write_text(SCRIPT)
        with running_app(
            Path(work) / "data", extra_env={"SCRIPT_GROUPS_DIR": str(scripts.parent)}
        ) as url:
            session = ApiSession(url)
            session.login("op_otto")
            group = session.request("GET", "/api/script-groups")[1][0]
            script = session.request("GET", f"/api/script-groups/{group['id']}/scripts")[1][0]
            status, started = session.request("POST", f"/api/scripts/{script['id']}/execute", {})
            assert status == 200, started
            cookie = "; ".join(f"{c.name}={c.value}" for c in session.jar)
            delays = asyncio.run(listen(url, cookie, started["execution_id"]))
    delays_ms = sorted(d * 1000 for d in delays)
    p99 = delays_ms[int(0.99 * (len(delays_ms) - 1))]
    print(f"lines received: {len(delays_ms)} of 400 (the first ones arrive as backlog)")
    print(
        f"print to client: p50 {statistics.median(delays_ms):.0f} ms, "
        f"p95 {delays_ms[int(0.95 * (len(delays_ms) - 1))]:.0f} ms, p99 {p99:.0f} ms "
        f"(aim p99 < 250 ms: {'ok' if p99 < 250 else 'OVER'})"
    )


if __name__ == "__main__":
    main()
