import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from execution.services import executions_reconcile

INTERVAL = 1.0


class Command(BaseCommand):
    help = (
        "Watch running scripts: record results of those that ended, stop abandoned "
        "interfaces, release orphaned ports. Re-adopts scripts left running by a "
        "previous manager."
    )

    def handle(self, *args, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        while not stop.is_set():
            try:
                close_old_connections()
                counts = executions_reconcile()
                if any(counts.values()):
                    self.stdout.write(f"supervisor: {counts}")
            except Exception as error:  # keep supervising through one bad pass
                self.stderr.write(f"supervisor pass failed: {error!r}")
            stop.wait(INTERVAL)
