"""Existing installations move from the old folder names to `<name>-<id>`:
`migrate` (projects.0002_unique_folder_names) on a real data folder built
the old way, with real rows pointing into it."""

import io
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import psutil
import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from catalog.models import ScriptGroup
from execution.models import ScriptProcess
from logs.models import ExecutionLog
from projects.models import UserProject
from projects.services_folders import FoldersBusy, folders_upgrade

pytestmark = pytest.mark.django_db(transaction=True)
DAY = "2026-12-01"


@pytest.fixture
def roots(settings, tmp_path):
    settings.BASE_DATA_PATH = tmp_path / "data"
    settings.DATA_FOLDERS_MIGRATION_WAIT_SECONDS = 0
    return tmp_path / "data" / "script_groups", Path(settings.LOGS_DIR)


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def old_run(logs: Path, user: User | None, username: str, project, folder: str, **row) -> dict:
    """An ended run whose files sit where the old code put them:
    executions/<folder>/<day>/execution_<uuid>.*"""
    execution_id = uuid.uuid4()
    relative = f"executions/{folder}/{DAY}/execution_{execution_id}"
    for suffix in ("stdout.log", "stderr.log", "exit.json", "log"):
        write(logs / f"{relative}.{suffix}", f"{username} {suffix}".encode())
    log = ExecutionLog.objects.create(
        execution_uuid=execution_id,
        user=user,
        username=username,
        project=project,
        project_name=project.name if project else "",
        script_name="report.py",
        status="completed",
        stdout_path=f"{relative}.stdout.log",
        stderr_path=f"{relative}.stderr.log",
        **row,
    )
    ScriptProcess.objects.create(
        execution=log,
        user=user,
        tab_session_id=uuid.uuid4().hex,
        exit_file=str(logs / f"{relative}.exit.json"),
        status="ended",
    )
    return {"log": log, "files": {s: f"{username} {s}".encode() for s in ("stdout.log", "log")}}


@pytest.fixture
def old_install(roots):
    """op1 and "op1." shared lab/op1/ under the old rule; op2 owns lab/op2/a/
    (project "a."); lab/ghost/ belongs to no project."""
    data, logs = roots
    lab = ScriptGroup.objects.create(directory_name="lab", name="Lab")
    op1 = User.objects.create_user(username="op1", email="op1@example.com", password="x")
    op1_dot = User.objects.create_user(username="op1.", email="op1d@example.com", password="x")
    op2 = User.objects.create_user(username="op2", email="op2@example.com", password="x")
    p_op1 = UserProject.objects.create(user=op1, group=lab, name="project_default")
    p_dot = UserProject.objects.create(user=op1_dot, group=lab, name="project_default")
    p_op2 = UserProject.objects.create(user=op2, group=lab, name="a.")
    write(data / "lab/op1/project_default/results.json", b'{"op1": true}')
    write(data / "lab/op1/project_default/sub/raw.bin", bytes(range(256)))
    write(data / "lab/op2/a/x.txt", b"op2's")
    write(data / "lab/ghost/project_default/keep.txt", b"nobody's")
    runs = {
        "op1": old_run(
            logs,
            op1,
            "op1",
            p_op1,
            "op1",
            parameters={"input": str(data / "lab/op1/project_default/results.json"), "n": 3},
        ),
        "op1.": old_run(logs, op1_dot, "op1.", p_dot, "op1"),
        "gone": old_run(logs, None, "gone", None, "gone"),
    }
    return {
        "lab": lab,
        "users": (op1, op1_dot, op2),
        "projects": (p_op1, p_dot, p_op2),
        "runs": runs,
    }


def migrate_again() -> None:
    """Run the real migration as `migrate` does on an installation at 0001."""
    call_command("migrate", "projects", "0001", verbosity=0, stdout=io.StringIO())
    call_command("migrate", "projects", verbosity=0, stdout=io.StringIO())


def test_migrate_moves_old_folders_to_unique_names_and_keeps_every_file(roots, old_install, capsys):
    data, logs = roots
    lab = old_install["lab"]
    op1, op1_dot, op2 = old_install["users"]
    p_op1, p_dot, p_op2 = old_install["projects"]

    migrate_again()
    output = capsys.readouterr().out  # what `migrate` prints for the administrator

    new_op1 = data / f"lab-{lab.pk}" / f"op1-{op1.pk}" / f"project_default-{p_op1.pk}"
    assert (new_op1 / "results.json").read_bytes() == b'{"op1": true}'
    assert (new_op1 / "sub/raw.bin").read_bytes() == bytes(range(256))
    new_op2 = data / f"lab-{lab.pk}" / f"op2-{op2.pk}" / f"a-{p_op2.pk}"
    assert (new_op2 / "x.txt").read_bytes() == b"op2's"
    assert not (data / "lab/op1").exists() and not (data / "lab/op2").exists()
    # Nobody's folder is left where it was; the shared one is reported.
    assert (data / "lab/ghost/project_default/keep.txt").read_bytes() == b"nobody's"
    assert not (data / f"lab-{lab.pk}" / f"op1-{op1_dot.pk}").exists()
    assert "was shared by project 'project_default' of 'op1'" in output
    assert "'op1.'" in output


def test_migrate_moves_each_runs_log_files_to_its_users_folder_and_rewrites_the_paths(
    roots, old_install
):
    data, logs = roots
    op1, op1_dot, _op2 = old_install["users"]
    p_op1 = old_install["projects"][0]
    lab = old_install["lab"]

    migrate_again()

    for name, folder in (
        ("op1", f"op1-{op1.pk}"),
        ("op1.", f"op1-{op1_dot.pk}"),  # the readable part is cleaned, the id tells
        ("gone", "deleted-users/gone"),
    ):
        run = old_install["runs"][name]
        log = ExecutionLog.objects.get(pk=run["log"].pk)
        stem = f"executions/{folder}/{DAY}/execution_{log.execution_uuid}"
        assert log.stdout_path == f"{stem}.stdout.log"
        assert log.stderr_path == f"{stem}.stderr.log"
        assert (logs / log.stdout_path).read_bytes() == run["files"]["stdout.log"]
        assert (logs / f"{stem}.log").read_bytes() == run["files"]["log"]
        process = ScriptProcess.objects.get(execution=log)
        assert process.exit_file == str(logs / f"{stem}.exit.json")
        assert Path(process.exit_file).read_bytes() == f"{name} exit.json".encode()
    assert not (logs / "executions/op1").exists() and not (logs / "executions/gone").exists()
    parameters = ExecutionLog.objects.get(pk=old_install["runs"]["op1"]["log"].pk).parameters
    new_dir = data / f"lab-{lab.pk}" / f"op1-{op1.pk}" / f"project_default-{p_op1.pk}"
    assert parameters == {"input": str(new_dir / "results.json"), "n": 3}


def test_migrate_refuses_while_a_run_is_live_naming_it_and_moves_nothing(roots, old_install):
    data, logs = roots
    log = old_install["runs"]["op1"]["log"]
    runner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        ScriptProcess.objects.filter(execution=log).update(
            status="running",
            runner_pid=runner.pid,
            runner_started=psutil.Process(runner.pid).create_time(),
        )
        with pytest.raises(FoldersBusy) as refused:
            migrate_again()
        message = str(refused.value)
        assert "report.py of op1" in message and str(log.execution_uuid) in message
        assert str(runner.pid) in message
        assert (data / "lab/op1/project_default/results.json").exists()
        assert (logs / log.stdout_path).exists()
        assert ExecutionLog.objects.get(pk=log.pk).stdout_path == log.stdout_path
    finally:
        runner.kill()
        runner.wait()
    # Once it has ended (its row still says running: the manager was down),
    # the move goes ahead and the new exit file path is where it will be read.
    report = folders_upgrade(wait_seconds=0)
    assert report.folders_moved == 2
    process = ScriptProcess.objects.get(execution=log)
    assert Path(process.exit_file).exists() and "op1-" in process.exit_file


def test_a_second_run_moves_nothing(roots, old_install):
    migrate_again()
    report = folders_upgrade(wait_seconds=0)
    assert (report.folders_moved, report.log_files_moved, report.rows_rewritten) == (0, 0, 0)


def test_migrate_waits_for_a_live_run_to_end_then_moves(roots, old_install):
    data, _logs = roots
    log = old_install["runs"]["op1"]["log"]
    # Ends when its stdin closes: the test decides when, after the wait began.
    runner = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    ScriptProcess.objects.filter(execution=log).update(
        status="running",
        runner_pid=runner.pid,
        runner_started=psutil.Process(runner.pid).create_time(),
    )
    waiting, finished, said = threading.Event(), threading.Event(), []

    def say(line: str) -> None:
        said.append(line)
        if line.startswith("Waiting"):
            waiting.set()

    def upgrade() -> None:
        try:
            said.append(folders_upgrade(wait_seconds=600, say=say))
        finally:
            connection.close()
            finished.set()

    worker = threading.Thread(target=upgrade)
    worker.start()
    try:
        assert waiting.wait(60), said
        assert (data / "lab/op1/project_default/results.json").exists()  # nothing moved yet
        assert not finished.is_set()
    finally:
        runner.stdin.close()
        runner.wait()
        worker.join(60)
    assert f"pid {runner.pid}" in said[0]
    assert said[-1].folders_moved == 2
    assert not (data / "lab/op1").exists()
