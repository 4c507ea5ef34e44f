import io
import re
import sqlite3
import tarfile
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEvent, User
from backups import services
from backups.tests.conftest import DATA_FILES, postgres_connect, postgres_run, tree_files

pytestmark = pytest.mark.django_db(transaction=True)


def usernames_in_copy(restored: Path, member: str) -> set[str]:
    """The usernames stored in a restored database copy, after checking it is intact."""
    if connection.vendor == "sqlite":
        copy = sqlite3.connect(restored / member)
        try:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return {row[0] for row in copy.execute("SELECT username FROM accounts_user")}
        finally:
            copy.close()
    listing = postgres_run("pg_restore", "--list", str(restored / member)).stdout
    assert "TABLE public accounts_user" in listing
    scratch = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:8]}"
    postgres_run("createdb", scratch)
    try:
        postgres_run("pg_restore", "--no-owner", "--dbname", scratch, str(restored / member))
        with postgres_connect(scratch) as copy:
            return {row[0] for row in copy.execute("SELECT username FROM accounts_user")}
    finally:
        postgres_run("dropdb", scratch)


def test_backup_then_restore_gives_identical_files_and_an_intact_database(data, tmp_path):
    User.objects.create_user(username="kept_row", password="x")
    result = services.backup_create(reason=services.REASON_MANUAL)

    today = timezone.localdate().isoformat()
    assert result.archive.path.parent == tmp_path / "backup" / today
    assert re.fullmatch(r"data_backup_\d{8}_\d{6}\.tar\.gz", result.archive.name)
    assert result.archive.name[12:20] == today.replace("-", "")
    assert [p.name for p in result.archive.path.parent.iterdir()] == [result.archive.name]

    restored = tmp_path / "restored"
    call_command("restore", result.archive.date, target=str(restored), stdout=io.StringIO())

    member = "database.sqlite3" if connection.vendor == "sqlite" else "database.pgdump"
    files = tree_files(restored)
    assert files.pop(services.MANIFEST)
    assert files.pop(member)
    assert files == DATA_FILES
    assert (restored / "script_groups" / "lab" / "empty folder").is_dir()
    assert "kept_row" in usernames_in_copy(restored, member)


def test_an_in_place_restore_saves_the_current_state_then_brings_back_files_and_rows(data):
    User.objects.create_user(username="before", password="x")
    saved = services.backup_create(reason=services.REASON_MANUAL).archive
    (data / "secret_key").write_bytes(b"changed")
    (data / "empty.txt").unlink()
    (data / "script_groups" / "lab" / "op_otto" / "new.txt").write_bytes(b"after the backup")
    User.objects.filter(username="before").delete()
    User.objects.create_user(username="after", password="x")

    out = io.StringIO()
    call_command("restore", saved.name, interactive=False, stdout=out)

    assert "Current state saved in" in out.getvalue()
    assert tree_files(data) == DATA_FILES
    assert set(User.objects.values_list("username", flat=True)) == {"before"}
    archives = services.backups_list()[0].archives
    pre_restore = next(a for a in archives if a.name != saved.name)
    event = AuditEvent.objects.get(action=AuditEvent.Action.BACKUP_RESTORED)
    assert event.details["archive"] == saved.name
    assert event.details["pre_restore"] == pre_restore.name

    with tarfile.open(pre_restore.path) as tar:
        names = tar.getnames()
        assert tar.extractfile("secret_key").read() == b"changed"
    assert "script_groups/lab/op_otto/new.txt" in names
    assert "empty.txt" not in names


def test_the_live_database_is_archived_as_a_consistent_copy_never_raw(settings, tmp_path):
    User.objects.create_user(username="in_db", password="x")
    if connection.vendor == "sqlite":
        # The data folder is the one holding the live test database, with its WAL files.
        live = Path(connection.settings_dict["NAME"])
        settings.BASE_DATA_PATH = live.parent
        assert Path(f"{live}-wal").exists()
    archive = services.backup_create(reason=services.REASON_MANUAL).archive

    with tarfile.open(archive.path) as tar:
        names = set(tar.getnames())
        if connection.vendor == "sqlite":
            assert live.name in names
            assert not {f"{live.name}-wal", f"{live.name}-shm"} & names
            tar.extract(live.name, tmp_path / "out", filter="data")
        else:
            assert "database.pgdump" in names
            tar.extract("database.pgdump", tmp_path / "out", filter="data")
    if connection.vendor == "sqlite":
        copy = sqlite3.connect(tmp_path / "out" / live.name)
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        copy.close()
        assert "in_db" in usernames_in_copy(tmp_path / "out", live.name)
    else:
        assert "in_db" in usernames_in_copy(tmp_path / "out", "database.pgdump")
