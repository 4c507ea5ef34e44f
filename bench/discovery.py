"""Discovery speed: a full scan of 100 groups x 20 scripts, an unchanged rescan,
and how long the watcher takes to list a new script.

Aims on this machine: full scan under 3 s, unchanged rescan under 0.3 s,
watcher under 2 s.
"""

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="sm-bench-discovery-"))
os.environ["BASE_DATA_PATH"] = str(WORK / "data")
os.environ["SCRIPT_GROUPS_DIR"] = str(WORK / "script_groups")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptsmanager.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from catalog.discovery import discovery_run  # noqa: E402
from catalog.models import Script  # noqa: E402
from catalog.watcher import DiscoveryWatcher  # noqa: E402

GROUPS, SCRIPTS = 100, 20
HEADER = '''"""
ScriptsManager Metadata:
@description: Script {n} of group {g}
@description_es: Script {n} del grupo {g}
@required_level: operator
@tags: bench,group{g}
@parameters: [
    {{"name": "count", "type": "int", "default": 3, "min": 1, "max": 100}},
    {{"name": "mode", "type": "select", "options": ["fast", "exact"], "default": "fast"}}
]
"""
print("hello")
'''


def build(root: Path) -> None:
    for g in range(GROUPS):
        folder = root / f"group_{g:03d}"
        folder.mkdir(parents=True)
        (folder / "metadata.json").write_text(json.dumps({"name": f"Group {g}", "icon": "gear"}))
        for n in range(SCRIPTS):
            (folder / f"script_{n:02d}.py").write_text(HEADER.format(n=n, g=g))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def watcher_latency(root: Path, samples: int = 5) -> list[float]:
    watcher = DiscoveryWatcher(root)
    watcher.start()
    delays = []
    try:
        for i in range(samples):
            name = f"new_{i}.py"
            start = time.perf_counter()
            (root / "group_000" / name).write_text(HEADER.format(n=i, g=0))
            while not Script.objects.filter(filename=name, is_active=True).exists():
                time.sleep(0.01)
            delays.append(time.perf_counter() - start)
    finally:
        watcher.stop()
    return delays


def main() -> None:
    call_command("migrate", verbosity=0)
    root = Path(os.environ["SCRIPT_GROUPS_DIR"])
    build(root)
    full = timed(discovery_run)
    rescans = [timed(discovery_run) for _ in range(5)]
    count = Script.objects.count()
    delays = watcher_latency(root)
    rescan = statistics.median(rescans)
    watch = statistics.median(delays)
    print(f"tree: {GROUPS} groups x {SCRIPTS} scripts = {count} scripts (SQLite, {WORK})")
    print(f"full scan:         {full:.2f} s   (aim < 3 s: {'ok' if full < 3 else 'OVER'})")
    verdict = "ok" if rescan < 0.3 else "OVER"
    print(f"unchanged rescan:  {rescan:.3f} s median of 5 (aim < 0.3 s: {verdict})")
    print(
        f"watcher, new file: {watch:.2f} s median, {max(delays):.2f} s worst "
        f"(aim < 2 s: {'ok' if max(delays) < 2 else 'OVER'})"
    )


if __name__ == "__main__":
    main()
