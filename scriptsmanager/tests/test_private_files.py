"""Everything under the data and backup folders (database, secret_key, logs,
backups holding that key, project data) is the service account's alone: files
0600, folders 0700, whatever umask the application was started with."""

import logging
import os
import stat
import time
from pathlib import Path

import pytest

from scriptsmanager.files import PrivateWatchedFileHandler, private_modes_fix
from scriptsmanager.testing import ApiSession, running_app

WRITER = '''"""
@required_level: viewer
@interface: false
"""
import argparse, os
parser = argparse.ArgumentParser()
parser.add_argument("--data-dir")
known, _ = parser.parse_known_args()
os.makedirs(os.path.join(known.data_dir, "results"), exist_ok=True)
with open(os.path.join(known.data_dir, "results", "report.csv"), "w") as handle:
    handle.write("a,b\\n1,2\\n")
print("written")
'''


@pytest.fixture
def umask_022():
    """The umask of a typical login shell or service manager: 0644 files, 0755 folders."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _not_private(*roots: Path) -> list[str]:
    found = []
    for root in roots:
        for folder, dirnames, filenames in os.walk(root):
            for path in [Path(folder)] + [Path(folder) / n for n in (*dirnames, *filenames)]:
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    continue
                wanted = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
                if stat.S_IMODE(info.st_mode) != wanted:
                    found.append(f"{path.relative_to(root.parent)} {stat.S_IMODE(info.st_mode):o}")
    return sorted(set(found))


def test_after_a_run_and_a_backup_everything_under_data_and_backup_is_private(tmp_path, umask_022):
    scripts = tmp_path / "script_groups"
    (scripts / "lab").mkdir(parents=True)
    (scripts / "lab" / "writer.py").write_text(WRITER)
    data, backup = tmp_path / "data", tmp_path / "backup"
    # An installation made by an earlier version, under umask 022.
    (data / "logs" / "system").mkdir(parents=True)
    (data / "logs" / "system" / "application.log").write_text("old line\n")
    (backup / "2020-01-01").mkdir(parents=True)
    (backup / "2020-01-01" / "data_backup_20200101_020000.tar.gz").write_bytes(b"old")
    env = {"SCRIPT_GROUPS_DIR": str(scripts), "BACKUP_PATH": str(backup)}
    with running_app(data, extra_env=env) as app:
        session = ApiSession(app)
        assert session.login("op_otto")[0] == 200
        group = session.request("GET", "/api/script-groups")[1][0]
        script = session.request("GET", f"/api/script-groups/{group['id']}/scripts")[1][0]
        status, started = session.request(
            "POST", f"/api/scripts/{script['id']}/execute", {"parameters": {}}
        )
        assert status == 200, started
        deadline = time.monotonic() + 30
        body = started
        while body["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            body = session.request(
                "GET", f"/api/scripts/{script['id']}/status?execution_id={started['execution_id']}"
            )[1]
        assert body["status"] == "completed", body
        admin = ApiSession(app)
        assert admin.login("ada_admin")[0] == 200
        status, made = admin.request("POST", "/api/system/backup")
        assert status == 200, made
    reports = list(data.glob("script_groups/lab-*/op_otto-*/*/results/report.csv"))
    assert reports, "the script wrote nothing into its project folder"
    assert list(backup.glob("*/data_backup_*.tar.gz"))
    for name in ("secret_key", "logs/system/access.log", "logs/system/application.log"):
        assert (data / name).is_file(), name
    assert _not_private(data, backup) == []


def test_start_makes_an_existing_tree_private_without_following_symlinks(tmp_path, umask_022):
    data = tmp_path / "data"
    (data / "logs" / "audit").mkdir(parents=True)
    (data / "logs" / "audit" / "user_actions.log").write_text("x")
    tool = data / "script_groups" / "lab" / "tool.sh"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    unreadable = data / "secret_key"
    unreadable.write_text("k" * 64)
    unreadable.chmod(0o244)  # even a file its owner may not read gets fixed
    (data / "open").mkdir(mode=0o777)
    (data / "open").chmod(0o777)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "shared.txt").write_text("not ours to change")
    (data / "link-to-file").symlink_to(elsewhere / "shared.txt")
    (data / "link-to-folder").symlink_to(elsewhere)
    backup = tmp_path / "backup"
    (backup / "2025-01-01").mkdir(parents=True)
    (backup / "2025-01-01" / "a.tar.gz").write_bytes(b"x")

    changed = private_modes_fix(roots=[data, backup, tmp_path / "missing"])

    assert _not_private(data, backup) == []
    assert changed == 12
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o755
    assert stat.S_IMODE((elsewhere / "shared.txt").stat().st_mode) == 0o644
    assert private_modes_fix(roots=[data, backup]) == 0


def test_system_log_files_are_created_private_whatever_the_umask(tmp_path, umask_022):
    handler = PrivateWatchedFileHandler(str(tmp_path / "application.log"))
    try:
        handler.emit(logging.makeLogRecord({"msg": "hello"}))
        (tmp_path / "application.log").unlink()  # rotated away: reopened on the next line
        handler.emit(logging.makeLogRecord({"msg": "again"}))
    finally:
        handler.close()
    assert stat.S_IMODE((tmp_path / "application.log").stat().st_mode) == 0o600
