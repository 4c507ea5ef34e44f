"""Restoring a backup made before folder names became unique (`<name>-<id>`)
renames its folders as the migration does, and rewrites the restored paths."""

import io
import json
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import psutil
import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from accounts.models import User
from backups import services
from catalog.models import ScriptGroup
from execution.models import ScriptProcess
from logs.models import ExecutionLog
from projects.models import UserProject

pytestmark = pytest.mark.django_db(transaction=True)


def as_older_archive(path: Path) -> None:
    """Rewrite the archive as the code before FOLDER_LAYOUT wrote it: the same
    members, a manifest without "folder_layout"."""
    members = []
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            content = tar.extractfile(member).read() if member.isfile() else None
            if member.name == services.MANIFEST:
                manifest = json.loads(content)
                manifest.pop("folder_layout", None)
                content = json.dumps(manifest).encode()
                member.size = len(content)
            members.append((member, content))
    with tarfile.open(path, "w:gz") as tar:
        for member, content in members:
            tar.addfile(member, io.BytesIO(content) if content is not None else None)


@pytest.fixture
def old_layout(backup_settings):
    """A data folder with the old names: op1 and op2's projects, one run of op1."""
    backup_settings.LOGS_DIR = Path(backup_settings.BASE_DATA_PATH) / "logs"
    backup_settings.DATA_FOLDERS_MIGRATION_WAIT_SECONDS = 0
    data, logs = Path(backup_settings.BASE_DATA_PATH), Path(backup_settings.LOGS_DIR)
    lab = ScriptGroup.objects.create(directory_name="lab", name="Lab")
    op1 = User.objects.create_user(username="op1", email="op1@example.com", password="x")
    op2 = User.objects.create_user(username="op2", email="op2@example.com", password="x")
    p1 = UserProject.objects.create(user=op1, group=lab, name="project_default")
    p2 = UserProject.objects.create(user=op2, group=lab, name="Line 3")
    files = {
        "script_groups/lab/op1/project_default/results.json": b'{"rate": 0.97}',
        "script_groups/lab/op2/Line_3/notes.txt": b"op2's notes",
    }
    execution_id = uuid.uuid4()
    stem = f"executions/op1/2024-05-01/execution_{execution_id}"
    files[f"logs/{stem}.stdout.log"] = b"op1's output"
    files[f"logs/{stem}.exit.json"] = b'{"exit_code": 0}'
    for name, content in files.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(content)
    log = ExecutionLog.objects.create(
        execution_uuid=execution_id,
        user=op1,
        username="op1",
        project=p1,
        status="completed",
        stdout_path=f"{stem}.stdout.log",
    )
    ScriptProcess.objects.create(
        execution=log, user=op1, tab_session_id="s1", exit_file=str(logs / f"{stem}.exit.json")
    )
    ScriptProcess.objects.filter(execution=log).update(status="ended")
    return {"data": data, "logs": logs, "lab": lab, "users": (op1, op2), "projects": (p1, p2)}


def test_restoring_an_older_backup_gives_its_folders_the_unique_names(old_layout):
    data, logs, lab = old_layout["data"], old_layout["logs"], old_layout["lab"]
    op1, op2 = old_layout["users"]
    p1, p2 = old_layout["projects"]
    MigrationRecorder(connection).migration_qs.filter(
        app="projects", name="0002_unique_folder_names"
    ).delete()  # as in a database of that time: the migration did not exist yet
    as_saved = services.backup_create(reason=services.REASON_MANUAL).archive
    as_older_archive(as_saved.path)
    shutil.rmtree(data / "script_groups")
    ExecutionLog.objects.update(stdout_path="")

    services.backup_restore(date=as_saved.name)

    group = data / "script_groups" / f"lab-{lab.pk}"
    assert (group / f"op1-{op1.pk}" / f"project_default-{p1.pk}" / "results.json").read_bytes() == (
        b'{"rate": 0.97}'
    )
    assert (group / f"op2-{op2.pk}" / f"Line_3-{p2.pk}" / "notes.txt").read_bytes() == (
        b"op2's notes"
    )
    assert not (data / "script_groups" / "lab").exists()
    log = ExecutionLog.objects.get()
    assert log.stdout_path.startswith(f"executions/op1-{op1.pk}/2024-05-01/")
    assert (logs / log.stdout_path).read_bytes() == b"op1's output"
    exit_file = Path(ScriptProcess.objects.get().exit_file)
    assert exit_file.parent == (logs / log.stdout_path).parent
    assert exit_file.read_bytes() == b'{"exit_code": 0}'
    assert not (logs / "executions" / "op1").exists()
    # `migrate` on the restored database must not rename them a second time.
    applied = MigrationRecorder(connection).applied_migrations()
    assert ("projects", "0002_unique_folder_names") in applied


def test_a_new_backup_records_its_folder_layout_and_restores_unchanged(old_layout):
    data = old_layout["data"]
    archive = services.backup_create(reason=services.REASON_MANUAL).archive
    with tarfile.open(archive.path) as tar:
        manifest = json.loads(tar.extractfile(services.MANIFEST).read())
    assert manifest["folder_layout"] == 2
    services.backup_restore(date=archive.name)
    assert (data / "script_groups/lab/op1/project_default/results.json").exists()


def test_restoring_an_older_backup_is_refused_while_a_script_runs(old_layout):
    data = old_layout["data"]
    archive = services.backup_create(reason=services.REASON_MANUAL).archive
    as_older_archive(archive.path)
    runner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        ScriptProcess.objects.update(
            status="running",
            runner_pid=runner.pid,
            runner_started=psutil.Process(runner.pid).create_time(),
        )
        (data / "after.txt").write_bytes(b"written after the backup")
        with pytest.raises(services.BackupError) as refused:
            services.backup_restore(date=archive.name)
        assert refused.value.status_code == 409
        assert f"pid {runner.pid}" in str(refused.value) and "of op1" in str(refused.value)
        assert (data / "after.txt").read_bytes() == b"written after the backup"
        assert ScriptProcess.objects.get().status == "running"
    finally:
        runner.kill()
        runner.wait()
