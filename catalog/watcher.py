"""Run discovery within moments of a change under SCRIPT_GROUPS_DIR (watchdog).

Events arrive in bursts (an editor writes a temp file, renames it, touches the
folder); they only raise a flag, and one worker runs discovery once the tree
has been quiet for `settle` seconds, so a burst costs one incremental scan.
"""

import logging
import threading
from pathlib import Path

from django.db import close_old_connections
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from catalog.discovery import discovery_run

logger = logging.getLogger(__name__)

RELEVANT_SUFFIXES = (".py", ".json", ".md")


class _Handler(FileSystemEventHandler):
    def __init__(self, changed: threading.Event) -> None:
        self.changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = [str(event.src_path), str(getattr(event, "dest_path", "") or "")]
        if any("__pycache__" in p for p in paths):
            return
        if event.is_directory or any(p.endswith(RELEVANT_SUFFIXES) for p in paths):
            self.changed.set()


class DiscoveryWatcher:
    """Watches `root`; `start()` returns at once, `stop()` joins the threads."""

    def __init__(self, root: Path, *, settle: float = 0.3) -> None:
        self.root = Path(root)
        self.settle = settle
        self.changed = threading.Event()
        self.stopping = threading.Event()
        self.observer = Observer()
        self.worker = threading.Thread(target=self._work, name="discovery-watcher", daemon=True)
        self.runs = 0

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.observer.schedule(_Handler(self.changed), str(self.root), recursive=True)
        self.observer.start()
        self.worker.start()

    def stop(self) -> None:
        self.stopping.set()
        self.changed.set()
        self.observer.stop()
        self.observer.join(timeout=5)
        self.worker.join(timeout=5)

    def _work(self) -> None:
        while not self.stopping.is_set():
            self.changed.wait()
            if self.stopping.is_set():
                return
            # Wait for the burst to end: every new event restarts the quiet period.
            while True:
                self.changed.clear()
                if not self.changed.wait(self.settle):
                    break
            try:
                close_old_connections()
                summary = discovery_run()
                self.runs += 1
                if summary.added or summary.changed or summary.removed:
                    logger.info("Scripts changed on disk: %s", summary)
            except Exception:  # the watcher must outlive one bad scan
                logger.exception("Discovery after a file change failed")
            finally:
                close_old_connections()
