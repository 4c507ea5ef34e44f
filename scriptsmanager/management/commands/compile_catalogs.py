import os
import tempfile
from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def catalog_compile(po_path: Path) -> Path:
    """Write the .mo beside `po_path` (temporary file, then rename) and return its path.

    Pure Python (polib), so no gettext tools are needed on the machine.
    """
    po = polib.pofile(str(po_path))
    problems = [e.msgid for e in po if e.msgstr == "" and not e.msgstr_plural or e.fuzzy]
    if problems:
        raise CommandError(
            f"{po_path}: {len(problems)} untranslated or fuzzy entries, e.g. {problems[0]!r}"
        )
    mo_path = po_path.with_suffix(".mo")
    fd, tmp = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
    os.close(fd)
    try:
        po.save_as_mofile(tmp)
        os.replace(tmp, mo_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return mo_path


class Command(BaseCommand):
    help = "Compile every locale/*/LC_MESSAGES/*.po into .mo, refusing incomplete catalogs."

    def handle(self, *args, **options):
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                self.stdout.write(f"compiled {catalog_compile(po_path)}")
