import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from catalog.discovery import discovery_run
from catalog.watcher import DiscoveryWatcher


class Command(BaseCommand):
    help = "Watch SCRIPT_GROUPS_DIR and update the catalog within seconds of a change."

    def handle(self, *args, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        watcher = DiscoveryWatcher(settings.SCRIPT_GROUPS_DIR)
        watcher.start()
        # Catch whatever changed while nothing was watching.
        self.stdout.write(f"Watching {settings.SCRIPT_GROUPS_DIR}: {discovery_run()}")
        stop.wait()
        watcher.stop()
