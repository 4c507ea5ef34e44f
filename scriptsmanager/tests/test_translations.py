"""The es, it and fr catalogs are complete, compiled, and cover every UI string."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
CATALOGS = [
    LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"
    for lang in ("es", "it", "fr")
    for domain in ("django", "djangojs")
]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


@pytest.mark.parametrize("po_path", CATALOGS, ids=lambda p: f"{p.parts[-3]}-{p.stem}")
def test_every_entry_is_translated_and_none_is_fuzzy(po_path):
    po = polib.pofile(str(po_path))
    assert len(po) > 0
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []
    assert not po.metadata_is_fuzzy
    for entry in po:
        translations = list(entry.msgstr_plural.values()) or [entry.msgstr]
        for text in translations:
            assert sorted(PLACEHOLDER.findall(entry.msgid)) == sorted(PLACEHOLDER.findall(text)), (
                entry.msgid
            )


@pytest.mark.parametrize("po_path", CATALOGS, ids=lambda p: f"{p.parts[-3]}-{p.stem}")
def test_the_committed_mo_matches_the_po(po_path):
    po = polib.pofile(str(po_path))
    mo = polib.mofile(str(po_path.with_suffix(".mo")))
    expected = {(e.msgctxt, e.msgid): (e.msgstr, dict(e.msgstr_plural)) for e in po}
    compiled = {
        (e.msgctxt, e.msgid): (e.msgstr, {int(k): v for k, v in e.msgstr_plural.items()})
        for e in mo
        if e.msgid
    }
    expected = {k: (s, {int(i): v for i, v in p.items()}) for k, (s, p) in expected.items()}
    assert compiled == expected


def test_the_catalogs_cover_every_string_in_the_code(tmp_path):
    """makemessages over a copy of the code must find no msgid missing from the catalogs."""
    copy = tmp_path / "src"
    shutil.copytree(
        settings.BASE_DIR,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "data", "backup", "vendor", "__pycache__", "*.mo", ".*cache", "app"
        ),
    )
    for domain in ("django", "djangojs"):
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "makemessages",
                "-d",
                domain,
                "-l",
                "es",
                "--no-obsolete",
            ],
            cwd=copy,
            env={**os.environ, "BASE_DATA_PATH": str(tmp_path / "data")},
            check=True,
            capture_output=True,
        )
        extracted = {
            e.msgid for e in polib.pofile(str(copy / "locale/es/LC_MESSAGES" / f"{domain}.po"))
        }
        committed = {e.msgid for e in polib.pofile(str(LOCALE / "es/LC_MESSAGES" / f"{domain}.po"))}
        assert extracted - committed == set(), f"new strings not in {domain}.po"
        assert committed - extracted == set(), f"stale strings in {domain}.po"
