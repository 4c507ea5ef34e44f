from pathlib import Path

from accounts.models import AuditEvent, User
from accounts.tests.conftest import folder_files, project_with_files
from execution.models import ScriptProcess
from logs.models import ExecutionLog
from projects.models import UserProject
from projects.services import project_data_dir, user_logs_dir


def test_the_django_admin_shows_projects_and_deletes_like_the_api(personas, client_for, groups):
    otto = personas["op_otto"]
    project = project_with_files(otto, groups["lab"], "project_default", {"a.json": b"x" * 2048})
    admin = client_for("ada_admin")
    page = admin.get(f"/admin/accounts/user/{otto.pk}/change/").content.decode()
    assert "project_default" in page and "2.0\xa0KB" in page and "Lab" in page
    response = admin.post(f"/admin/accounts/user/{otto.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=otto.pk).exists()
    assert not project_data_dir(project).exists()
    backups = list((project_data_dir(project).parents[3] / "backups").iterdir())
    assert [p.name.startswith(f"user_op_otto-{otto.pk}_delete_") for p in backups] == [True]
    assert AuditEvent.objects.filter(action="user_deleted").count() == 1


def test_the_django_admin_offers_no_self_delete(personas, client_for, data_root):
    ada = personas["ada_admin"]
    admin = client_for("ada_admin")
    assert admin.get(f"/admin/accounts/user/{ada.pk}/delete/").status_code == 403
    assert admin.post(f"/admin/accounts/user/{ada.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=ada.pk).exists()


def change_form(user, **changes) -> dict:
    data = {
        "username": user.username,
        "email": user.email,
        "user_level": user.user_level,
        "is_active": "on" if user.is_active else "",
        "preferred_language": user.preferred_language,
        "preferred_theme": user.preferred_theme,
        "first_name": "",
        "last_name": "",
    }
    return {**data, **changes}


def test_the_django_admin_refuses_self_demotion_and_deactivation(personas, client_for):
    ada = personas["ada_admin"]
    admin = client_for("ada_admin")
    for changes in ({"user_level": "developer"}, {"is_active": ""}):
        response = admin.post(f"/admin/accounts/user/{ada.pk}/change/", change_form(ada, **changes))
        assert response.status_code == 200  # the form again, with the error
        assert "your own" in response.content.decode()
        ada.refresh_from_db()
        assert ada.user_level == "admin" and ada.is_active
    otto = personas["op_otto"]
    response = admin.post(
        f"/admin/accounts/user/{otto.pk}/change/", change_form(otto, user_level="developer")
    )
    assert response.status_code == 302


def test_renaming_in_the_django_admin_moves_data_and_logs_like_the_api(
    personas, client_for, groups, settings
):
    otto = personas["op_otto"]
    project = project_with_files(otto, groups["lab"], "project_default", {"a.json": b"[7]"})
    old_data = project_data_dir(project)
    logs_root = Path(settings.LOGS_DIR)
    stem = f"{user_logs_dir(otto).relative_to(logs_root)}/2026-12-01/execution_1"
    (logs_root / stem).parent.mkdir(parents=True)
    (logs_root / f"{stem}.stdout.log").write_bytes(b"otto's output")
    log = ExecutionLog.objects.create(
        user=otto, username="op_otto", project=project, stdout_path=f"{stem}.stdout.log"
    )
    ScriptProcess.objects.create(
        execution=log,
        user=otto,
        tab_session_id="t1",
        exit_file=str(logs_root / f"{stem}.exit"),
        status="ended",
    )

    response = client_for("ada_admin").post(
        f"/admin/accounts/user/{otto.pk}/change/", change_form(otto, username="otto_ops")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    otto.refresh_from_db()
    assert otto.username == "otto_ops"
    project = UserProject.objects.select_related("user", "group").get(pk=project.pk)
    assert project_data_dir(project).parts[-2] == f"otto_ops-{otto.pk}"
    assert folder_files(project) == {"a.json": b"[7]"}
    assert not old_data.exists() and not old_data.parent.exists()
    log.refresh_from_db()
    assert log.stdout_path.startswith(f"executions/otto_ops-{otto.pk}/")
    assert (logs_root / log.stdout_path).read_bytes() == b"otto's output"
    exit_file = ScriptProcess.objects.get(execution=log).exit_file
    assert exit_file == str(logs_root / log.stdout_path).replace(".stdout.log", ".exit")
    assert AuditEvent.objects.get(action="user_updated").details == {
        "changed": {"username": ["op_otto", "otto_ops"]}
    }


def test_the_django_admin_refuses_a_rename_while_scripts_run(personas, client_for, groups):
    otto = personas["op_otto"]
    project = project_with_files(otto, groups["lab"], "project_default", {"a.json": b"[7]"})
    log = ExecutionLog.objects.create(user=otto, username="op_otto", project=project)
    ScriptProcess.objects.create(
        execution=log, user=otto, tab_session_id="t2", exit_file="x", status="running"
    )
    response = client_for("ada_admin").post(
        f"/admin/accounts/user/{otto.pk}/change/", change_form(otto, username="otto_ops")
    )
    assert response.status_code == 200  # the form again, with the error
    assert "has scripts running" in response.content.decode()
    otto.refresh_from_db()
    assert otto.username == "op_otto" and folder_files(project) == {"a.json": b"[7]"}
