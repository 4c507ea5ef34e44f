from django.core.management.base import BaseCommand

from catalog.discovery import discovery_run


class Command(BaseCommand):
    help = "Scan SCRIPT_GROUPS_DIR and update the catalog; prints what changed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="re-read every file, even unchanged ones"
        )

    def handle(self, *args, force: bool = False, **options):
        summary = discovery_run(force=force)
        for problem in summary.problems:
            self.stderr.write(problem)
        self.stdout.write(
            f"Discovery: {summary.groups} groups, {summary.scripts} scripts; "
            f"added {summary.added}, changed {summary.changed}, removed {summary.removed}, "
            f"errors {summary.errors}"
        )
