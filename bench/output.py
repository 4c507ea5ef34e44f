"""Output capture: a script writing 50 MB of lines, run by the manager, against
`python script.py > file`. Prints both times, whether the bytes are equal, and
the manager's memory growth.

Aims: capture within 20 % of the plain redirect, manager growth under 50 MB.
"""

import hashlib
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import WORK, django_setup, operator  # noqa: E402

LINES = 1_000_000  # about 50 MB
SCRIPT = f'''"""
@interface: false
@required_level: viewer
"""
import sys
w = sys.stdout.write
for i in range({LINES}):
    w("line %07d: the quick brown fox jumps over the lazy dog\\n" % i)
'''


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    django_setup({"bench/writer.py": SCRIPT})
    import psutil
    from django.conf import settings

    from catalog.models import Script
    from execution.models import ScriptProcess
    from execution.services import execution_finalize, execution_start, runner_alive

    script = Script.objects.get(filename="writer.py")
    plain = WORK / "plain.txt"
    start = time.perf_counter()
    with plain.open("wb") as out:
        subprocess.run([sys.executable, str(script.path)], stdout=out, check=True)
    plain_seconds = time.perf_counter() - start

    me = psutil.Process()
    rss_before = me.memory_info().rss
    start = time.perf_counter()
    launch = execution_start(script=script, user=operator(), params={})
    process = launch.process
    while runner_alive(process):
        time.sleep(0.01)
    execution_finalize(process=ScriptProcess.objects.get(pk=process.pk))
    managed_seconds = time.perf_counter() - start
    growth = (me.memory_info().rss - rss_before) / 2**20
    launch.execution.refresh_from_db()
    captured = Path(settings.LOGS_DIR) / launch.execution.stdout_path
    size = captured.stat().st_size / 2**20
    equal = sha256(captured) == sha256(plain)
    ratio = managed_seconds / plain_seconds
    print(f"output: {LINES} lines, {size:.1f} MiB; status {launch.execution.status}")
    print(f"python script.py > file: {plain_seconds:.3f} s")
    print(
        f"through the manager:     {managed_seconds:.3f} s  (ratio {ratio:.2f}; aim <= 1.20: "
        f"{'ok' if ratio <= 1.2 else 'OVER'})"
    )
    print(f"bytes equal: {equal}")
    print(
        f"manager memory growth: {growth:.1f} MiB (aim < 50 MiB: {'ok' if growth < 50 else 'OVER'})"
    )


if __name__ == "__main__":
    main()
