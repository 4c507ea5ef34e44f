import io
import tarfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from backups import services
from backups.tests.conftest import tree_files

UNSAFE = {
    "parent": lambda: [tarfile.TarInfo("../escaped.txt")],
    "absolute": lambda: [tarfile.TarInfo("/tmp/sm-absolute-escape.txt")],
    "absolute symlink": lambda: [_link("etc", tarfile.SYMTYPE, "/etc")],
    "symlink out": lambda: [_link("up", tarfile.SYMTYPE, "../../outside")],
    "hard link out": lambda: [_link("passwd", tarfile.LNKTYPE, "/etc/passwd")],
    "device": lambda: [_link("disk", tarfile.CHRTYPE, "")],
}


def _link(name: str, kind: bytes, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def plant(backup: Path, members: list[tarfile.TarInfo]) -> Path:
    """An archive with a valid name and manifest, and then `members`."""
    folder = backup / "2024-05-01"
    folder.mkdir(parents=True)
    path = folder / "data_backup_20240501_020000.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        manifest = b'{"database": {"vendor": "sqlite", "member": "database.sqlite3"}}'
        info = tarfile.TarInfo(services.MANIFEST)
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        for member in members:
            tar.addfile(member, io.BytesIO(b"") if member.isreg() else None)
    return path


@pytest.mark.parametrize("kind", UNSAFE)
def test_unsafe_members_stop_a_restore_before_anything_is_written(data, tmp_path, kind):
    plant(tmp_path / "backup", UNSAFE[kind]())
    target = tmp_path / "restore" / "here"

    with pytest.raises(CommandError, match="unsafe member"):
        call_command("restore", "2024-05-01", target=str(target), stdout=io.StringIO())

    assert not target.exists()
    assert list((tmp_path / "restore").iterdir()) == []
    assert not (tmp_path / "restore" / "escaped.txt").exists()
    assert not Path("/tmp/sm-absolute-escape.txt").exists()


def test_an_unsafe_archive_leaves_the_data_folder_as_it_was_in_place(data, tmp_path, db):
    plant(tmp_path / "backup", UNSAFE["parent"]())
    before = tree_files(data)

    with pytest.raises(CommandError, match="unsafe member"):
        call_command("restore", "2024-05-01", interactive=False, stdout=io.StringIO())

    assert tree_files(data) == before
    assert not list(tmp_path.glob(".restore-*"))


def test_an_unknown_date_or_name_is_a_clear_error(data, tmp_path):
    plant(tmp_path / "backup", [])

    with pytest.raises(CommandError, match="No backup “2024-05-02”.*2024-05-01"):
        call_command("restore", "2024-05-02", target=str(tmp_path / "t"))
    with pytest.raises(CommandError, match="No backup “data_backup_20240502_020000.tar.gz”"):
        call_command("restore", "data_backup_20240502_020000.tar.gz", target=str(tmp_path / "t"))
    with pytest.raises(CommandError, match="neither a date"):
        call_command("restore", "last-week", target=str(tmp_path / "t"))


def test_the_target_must_be_new_or_empty(data, tmp_path):
    plant(tmp_path / "backup", [])
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_bytes(b"mine")

    with pytest.raises(CommandError, match="new or empty folder"):
        call_command("restore", "2024-05-01", target=str(target))
    with pytest.raises(CommandError, match="data folder itself"):
        call_command("restore", "2024-05-01", target=str(data))

    assert tree_files(target) == {"keep.txt": b"mine"}
