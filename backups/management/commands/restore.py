from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from backups.services import BackupError, backup_archive_find, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a system backup: the newest archive of a date (YYYY-MM-DD) or a "
        "named archive. In place (the default) it first backs up the current state, "
        "then replaces the data folder and the database; stop the application first. "
        "With --target DIR it only extracts the files into that new or empty folder."
    )

    def add_arguments(self, parser):
        parser.add_argument("date", help="YYYY-MM-DD, or an archive name data_backup_*.tar.gz")
        parser.add_argument("--target", help="extract into this new or empty folder instead")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation before an in-place restore",
        )

    def handle(self, *args, date: str, target: str | None, interactive: bool, **options):
        try:
            if target is None and interactive:
                archive = backup_archive_find(date)
                question = _(
                    "Replace the data folder and the database with %(archive)s? The "
                    "current state is backed up first. Type 'yes' to continue: "
                ) % {"archive": archive.name}
                try:
                    answer = input(question)
                except EOFError:
                    answer = ""
                if answer.strip().lower() != "yes":
                    raise CommandError(
                        _("Restore cancelled (use --no-input to restore without the question).")
                    )
            result = backup_restore(
                date=date, target=target, progress=lambda line: self.stdout.write(line)
            )
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                _("Restored %(archive)s into %(target)s")
                % {"archive": result.archive.name, "target": result.target}
            )
        )
