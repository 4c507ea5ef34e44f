import os
import zipfile

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from accounts.tests.conftest import folder_files, in_zip, project_with_files, send
from execution.models import ScriptProcess
from logs.models import ExecutionLog
from projects.models import UserProject
from projects.services import project_data_dir


def test_it_lists_a_users_projects_with_their_data_usage(personas, client_for, groups):
    otto = personas["op_otto"]
    project_with_files(otto, groups["lab"], "project_default", {"a.json": b"{}", "b.txt": b"12345"})
    project_with_files(otto, groups["line"], "Audit", {"deep/er/c.bin": b"x" * 1000})
    project_with_files(personas["op_olga"], groups["lab"], "project_default", {"x": b"olga" * 99})
    response = client_for("ada_admin").get(f"/api/admin/users/{otto.pk}/projects")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "op_otto"
    rows = {(p["group_directory"], p["name"]): p for p in body["projects"]}
    assert set(rows) == {("lab", "project_default"), ("line", "Audit")}
    default = rows[("lab", "project_default")]
    assert (default["data_bytes"], default["file_count"], default["is_default"]) == (7, 2, True)
    assert default["group_name"] == "Lab" and default["created_at"]
    assert (rows[("line", "Audit")]["data_bytes"], rows[("line", "Audit")]["file_count"]) == (
        1000,
        1,
    )
    assert (body["total_bytes"], body["total_files"]) == (1007, 3)


def test_usage_never_follows_a_symlink(personas, client_for, groups, tmp_path):
    otto = personas["op_otto"]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big").write_bytes(b"x" * 5000)
    project = project_with_files(otto, groups["lab"], "project_default", {"own": b"12"})
    folder = project_data_dir(project)
    os.symlink(outside, folder / "linked_dir")
    os.symlink(outside / "big", folder / "linked_file")
    linked = UserProject.objects.create(user=otto, group=groups["line"], name="linked")
    project_data_dir(linked).parent.mkdir(parents=True)
    os.symlink(outside, project_data_dir(linked))
    body = client_for("ada_admin").get(f"/api/admin/users/{otto.pk}/projects").json()
    assert (body["total_bytes"], body["total_files"]) == (2, 1)


def test_the_projects_endpoint_uses_a_constant_number_of_queries(personas, client_for, groups):
    otto = personas["op_otto"]
    client = client_for("ada_admin")
    project_with_files(otto, groups["lab"], "project_default", {"a": b"1"})
    client.get(f"/api/admin/users/{otto.pk}/projects")  # warm the session
    with CaptureQueriesContext(connection) as one:
        client.get(f"/api/admin/users/{otto.pk}/projects")
    for i in range(8):
        project_with_files(otto, groups["lab" if i % 2 else "line"], f"p{i}", {"f": b"12"})
    with CaptureQueriesContext(connection) as nine:
        body = client.get(f"/api/admin/users/{otto.pk}/projects").json()
    assert len(body["projects"]) == 9
    assert len(nine) == len(one) <= 4  # session, acting user, the user, the projects


def test_reset_needs_confirmation(personas, client_for, groups, data_root):
    otto = personas["op_otto"]
    project = project_with_files(otto, groups["lab"], "project_default", {"keep.json": b"{}"})
    client = client_for("ada_admin")
    for body in ({}, {"confirm": False}):
        response = send(client, "post", f"/api/admin/users/{otto.pk}/reset-data", body)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "confirm"
    assert folder_files(project) == {"keep.json": b"{}"}
    assert not (data_root / "backups").exists()


def test_reset_backs_up_first_then_empties_every_project_folder(personas, client_for, groups):
    otto = personas["op_otto"]
    default = project_with_files(
        otto, groups["lab"], "project_default", {"config.json": b'{"speed": 3}', "sub/r.csv": b"1"}
    )
    audit = project_with_files(otto, groups["line"], "Audit", {"notes.txt": "café".encode()})
    response = send(
        client_for("ada_admin"), "post", f"/api/admin/users/{otto.pk}/reset-data", {"confirm": True}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["backup"].startswith(f"user_op_otto-{otto.pk}_reset_") and body["backup"].endswith(
        ".zip"
    )
    assert (body["files_removed"], body["bytes_removed"]) == (3, 12 + 1 + 5)

    backups = project_data_dir(default).parents[3] / "backups"
    assert [p.name for p in backups.iterdir()] == [body["backup"]]
    with zipfile.ZipFile(backups / body["backup"]) as archive:
        assert archive.testzip() is None
        first, second = in_zip(default), in_zip(audit)
        assert sorted(archive.namelist()) == [
            f"{first}/config.json",
            f"{first}/sub/r.csv",
            f"{second}/notes.txt",
        ]
        assert archive.read(f"{first}/config.json") == b'{"speed": 3}'
        assert archive.read(f"{second}/notes.txt").decode() == "café"

    for project in (default, audit):
        assert project_data_dir(project).is_dir()
        assert list(project_data_dir(project).iterdir()) == []
    assert UserProject.objects.filter(user=otto).count() == 2
    event = AuditEvent.objects.get(action="user_data_reset")
    assert event.details["backup"] == body["backup"] and event.actor_username == "ada_admin"
    assert event.target_repr == "op_otto"


def test_reset_touches_no_other_users_files(personas, client_for, groups, tmp_path):
    otto, olga = personas["op_otto"], personas["op_olga"]
    mine = project_with_files(otto, groups["lab"], "project_default", {"mine.json": b"{}"})
    hers = project_with_files(olga, groups["lab"], "project_default", {"hers.json": b"[1]"})
    her_other = project_with_files(olga, groups["line"], "Same", {"a.txt": b"a"})
    # A symlink in otto's folder to olga's: removed itself, never what it points at.
    otto_folder = project_data_dir(UserProject.objects.get(user=otto))
    os.symlink(project_data_dir(hers), otto_folder / "to_olga")
    response = send(
        client_for("ada_admin"), "post", f"/api/admin/users/{otto.pk}/reset-data", {"confirm": True}
    )
    assert response.status_code == 200
    assert list(otto_folder.iterdir()) == []
    assert folder_files(hers) == {"hers.json": b"[1]"}
    assert folder_files(her_other) == {"a.txt": b"a"}
    backup = otto_folder.parents[3] / "backups" / response.json()["backup"]
    with zipfile.ZipFile(backup) as archive:
        assert archive.namelist() == [f"{in_zip(mine)}/mine.json"]


def test_reset_recreates_missing_folders_and_replaces_a_symlinked_one(
    personas, client_for, groups, tmp_path
):
    otto = personas["op_otto"]
    missing = UserProject.objects.create(user=otto, group=groups["lab"], name="never_used")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("not otto's")
    linked = UserProject.objects.create(user=otto, group=groups["line"], name="linked")
    project_data_dir(linked).parent.mkdir(parents=True)
    os.symlink(outside, project_data_dir(linked))
    response = send(
        client_for("ada_admin"), "post", f"/api/admin/users/{otto.pk}/reset-data", {"confirm": True}
    )
    assert response.status_code == 200
    for project in (missing, linked):
        folder = project_data_dir(project)
        assert folder.is_dir() and not folder.is_symlink() and list(folder.iterdir()) == []
    assert (outside / "precious").read_text() == "not otto's"


def test_reset_is_refused_while_the_user_has_scripts_running(personas, client_for, groups):
    otto = personas["op_otto"]
    project = project_with_files(otto, groups["lab"], "project_default", {"in_use.json": b"{}"})
    execution = ExecutionLog.objects.create(
        user=otto, username="op_otto", script_name="s.py", project=project, status="running"
    )
    ScriptProcess.objects.create(
        execution=execution, user=otto, status="running", tab_session_id="t", exit_file="/x"
    )
    response = send(
        client_for("ada_admin"), "post", f"/api/admin/users/{otto.pk}/reset-data", {"confirm": True}
    )
    assert response.status_code == 409 and "running" in response.json()["detail"]
    assert folder_files(project) == {"in_use.json": b"{}"}
    assert not (project_data_dir(project).parents[3] / "backups").exists()
    assert not AuditEvent.objects.filter(action="user_data_reset").exists()
