import time
import zipfile

from django.test import Client

from accounts.models import AuditEvent, User
from accounts.tests.conftest import folder_files, in_zip, project_with_files, send
from execution.models import ScriptProcess
from execution.services import runner_alive
from logs.models import ExecutionLog
from projects.models import UserProject
from projects.services import project_data_dir


def finished_log(user, project, output: str) -> ExecutionLog:
    return ExecutionLog.objects.create(
        user=user,
        username=user.username,
        script_name="calc.py",
        project=project,
        project_name=project.name,
        status="completed",
        output=output,
        exit_code=0,
    )


def test_deleting_a_user_keeps_their_logs_readable_by_admins(personas, client_for, groups):
    otto = personas["op_otto"]
    project = project_with_files(otto, groups["lab"], "project_default", {"a.json": b"{}"})
    log = finished_log(otto, project, "otto's result 42")
    admin = client_for("ada_admin")
    assert admin.delete(f"/api/admin/users/{otto.pk}").status_code == 200
    assert not User.objects.filter(username="op_otto").exists()

    listed = admin.get("/api/admin/logs/execution").json()["items"]
    assert [(i["execution_id"], i["username"]) for i in listed] == [
        (str(log.execution_uuid), "op_otto")
    ]
    assert listed[0]["project_name"] == "project_default" and listed[0]["project_id"] is None
    found = admin.get("/api/admin/logs/execution?q=result").json()["items"]
    assert [i["execution_id"] for i in found] == [str(log.execution_uuid)]
    detail = admin.get(f"/api/logs/execution/{log.execution_uuid}")
    assert detail.status_code == 200
    doc = detail.json()
    assert (doc["username"], doc["user_id"], doc["output"]["stdout"]) == (
        "op_otto",
        None,
        "otto's result 42",
    )
    page = admin.get(f"/logs/{log.execution_uuid}/")
    assert page.status_code == 200 and "op_otto" in page.content.decode()
    # Nobody else inherits them, not even a new account with the same name.
    newcomer = Client()
    newcomer.force_login(
        User.objects.create_user(username="op_otto", email="new@example.com", user_level="operator")
    )
    assert newcomer.get(f"/api/logs/execution/{log.execution_uuid}").status_code == 404
    assert newcomer.get("/api/logs/execution").json()["items"] == []


def test_delete_backs_up_then_removes_the_data_folders(personas, client_for, groups):
    otto, olga = personas["op_otto"], personas["op_olga"]
    default = project_with_files(otto, groups["lab"], "project_default", {"config.json": b"[1]"})
    other = project_with_files(otto, groups["line"], "Audit", {"r/report.txt": b"done"})
    hers = project_with_files(olga, groups["lab"], "project_default", {"hers.json": b"{}"})
    folders = [project_data_dir(default), project_data_dir(other)]
    response = client_for("ada_admin").delete(f"/api/admin/users/{otto.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["deleted"] is True and body["folders_removed"] == 2 and body["stopped"] == 0
    assert body["backup"].startswith(f"user_op_otto-{otto.pk}_delete_")
    with zipfile.ZipFile(folders[0].parents[3] / "backups" / body["backup"]) as archive:
        assert archive.read(f"{in_zip(default)}/config.json") == b"[1]"
        assert archive.read(f"{in_zip(other)}/r/report.txt") == b"done"
    for folder in folders:
        assert not folder.exists() and not folder.parent.exists()
    assert folder_files(hers) == {"hers.json": b"{}"}
    assert not UserProject.objects.filter(pk__in=[default.pk, other.pk]).exists()
    event = AuditEvent.objects.get(action="user_deleted")
    assert event.target_repr == "op_otto" and event.details["backup"] == body["backup"]
    assert event.actor_username == "ada_admin"


def test_delete_stops_the_users_running_scripts_first(personas, client_for, make_script, data_root):
    script = make_script(
        "worker.py",
        "import sys, time, pathlib\n"
        "data = pathlib.Path(sys.argv[sys.argv.index('--data-dir') + 1])\n"
        "(data / 'progress.txt').write_text('half way')\n"
        "print('working', flush=True)\n"
        "time.sleep(120)\n",
        interface="false",
    )
    otto = personas["op_otto"]
    started = send(client_for("op_otto"), "post", f"/api/scripts/{script.pk}/execute", {})
    assert started.status_code == 200, started.content
    execution_id = started.json()["execution_id"]
    process = ScriptProcess.objects.get(execution__execution_uuid=execution_id)
    folder = project_data_dir(UserProject.objects.get(user=otto))
    zipped = in_zip(UserProject.objects.get(user=otto))
    deadline = time.monotonic() + 20
    while not (folder / "progress.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)

    response = client_for("ada_admin").delete(f"/api/admin/users/{otto.pk}")
    assert response.status_code == 200, response.content
    assert response.json()["stopped"] == 1
    assert not runner_alive(process)
    log = ExecutionLog.objects.get(execution_uuid=execution_id)
    assert log.status == "terminated" and log.stop_reason == "admin"
    assert log.user_id is None and log.username == "op_otto"
    backup = data_root / "backups" / response.json()["backup"]
    with zipfile.ZipFile(backup) as archive:
        assert archive.read(f"{zipped}/progress.txt") == b"half way"
    assert not folder.exists()


def test_a_failed_backup_leaves_the_user_and_their_data(personas, client_for, groups, data_root):
    otto = personas["op_otto"]
    project = project_with_files(otto, groups["lab"], "project_default", {"a.json": b"{}"})
    data_root.joinpath("backups").write_text("a file where the folder should be")
    response = client_for("ada_admin").delete(f"/api/admin/users/{otto.pk}")
    assert response.status_code == 500
    assert "nothing was removed" in response.json()["detail"]
    otto.refresh_from_db()
    assert otto.is_active
    assert folder_files(project) == {"a.json": b"{}"}
    assert not AuditEvent.objects.filter(action="user_deleted").exists()


def test_renaming_a_user_moves_their_data_folders(personas, client_for, groups):
    otto = personas["op_otto"]
    project = project_with_files(otto, groups["lab"], "project_default", {"a.json": b"{}"})
    old = project_data_dir(project)
    response = send(
        client_for("ada_admin"), "put", f"/api/admin/users/{otto.pk}", {"username": "otto_ops"}
    )
    assert response.status_code == 200, response.content
    project = UserProject.objects.select_related("user").get(pk=project.pk)
    assert project_data_dir(project).parts[-2] == f"otto_ops-{otto.pk}"
    assert folder_files(project) == {"a.json": b"{}"}
    assert not old.exists() and not old.parent.exists()
    assert AuditEvent.objects.get(action="user_updated").details == {
        "changed": {"username": ["op_otto", "otto_ops"]}
    }


def test_a_rename_onto_existing_data_is_refused(personas, client_for, groups):
    otto = personas["op_otto"]
    project = project_with_files(otto, groups["lab"], "project_default", {"a.json": b"{}"})
    squatter = project_data_dir(project).parent.with_name(f"otto_ops-{otto.pk}")
    squatter = squatter / project_data_dir(project).name
    squatter.mkdir(parents=True)
    response = send(
        client_for("ada_admin"), "put", f"/api/admin/users/{otto.pk}", {"username": "otto_ops"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "username"
    otto.refresh_from_db()
    assert otto.username == "op_otto" and folder_files(project) == {"a.json": b"{}"}
