from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from backups.services import REASON_MANUAL, BackupError, backup_create, backups_prune


class Command(BaseCommand):
    help = (
        "Back up the data folder and the database now into "
        "BACKUP_PATH/YYYY-MM-DD/data_backup_YYYYMMDD_HHMMSS.tar.gz."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--prune",
            action="store_true",
            help="then delete backups older than BACKUP_RETENTION_DAYS (never the newest)",
        )

    def handle(self, *args, prune: bool = False, **options):
        try:
            result = backup_create(reason=REASON_MANUAL)
        except BackupError as error:
            raise CommandError(str(error)) from None
        archive = result.archive
        seconds = (result.finished - result.started).total_seconds()
        self.stdout.write(
            _("Backup written: %(path)s (%(size)s bytes, %(files)s files, %(seconds).1f s)")
            % {
                "path": archive.path,
                "size": archive.size,
                "files": result.files,
                "seconds": seconds,
            }
        )
        if prune:
            try:
                removed = backups_prune()
            except BackupError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(
                _("Retention removed %(count)s archives: %(names)s")
                % {"count": len(removed), "names": ", ".join(removed) or "-"}
            )
