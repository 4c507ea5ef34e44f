import json

import pytest

from catalog.models import ScriptGroup
from execution.models import ScriptProcess
from logs.models import ExecutionLog
from projects.models import UserProject
from projects.services import project_data_dir


@pytest.fixture
def group(tree, db):
    tree.group("lab", {"name": "Lab"})
    return ScriptGroup.objects.create(directory_name="lab", name="Lab")


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_the_default_project_is_created_on_first_use(group, client_for, personas):
    listed = client_for("op_otto").get(f"/api/projects?group_id={group.pk}").json()
    assert [(p["name"], p["is_default"], p["is_active"]) for p in listed] == [
        ("project_default", True, True)
    ]
    assert UserProject.objects.filter(user=personas["op_otto"]).count() == 1


def test_create_activate_and_run_in_the_active_project(group, client_for, settings, tmp_path):
    settings.BASE_DATA_PATH = tmp_path
    client = client_for("op_otto")
    created = post(client, "/api/projects", {"group_id": group.pk, "name": "Line 3 audit"})
    assert created.status_code == 200, created.content
    project = UserProject.objects.get(name="Line 3 audit")
    assert project_data_dir(project).is_dir()
    assert (
        client.get(f"/api/projects/active?group_id={group.pk}").json()["name"] == "project_default"
    )
    assert client.post(f"/api/projects/{project.pk}/set-active").json()["is_active"] is True
    assert client.get(f"/api/projects/active?group_id={group.pk}").json()["name"] == "Line 3 audit"


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "x" * 101, "name\x00"])
def test_bad_names_are_refused_naming_the_field(group, client_for, name):
    response = post(client_for("op_otto"), "/api/projects", {"group_id": group.pk, "name": name})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
    assert not UserProject.objects.exclude(name="project_default").exists()


def test_names_are_unique_per_user_and_group_and_the_limit_holds(group, client_for, settings):
    otto, olga = client_for("op_otto"), client_for("op_olga")
    assert post(otto, "/api/projects", {"group_id": group.pk, "name": "Alpha"}).status_code == 200
    assert post(otto, "/api/projects", {"group_id": group.pk, "name": "Alpha"}).status_code == 400
    assert post(olga, "/api/projects", {"group_id": group.pk, "name": "Alpha"}).status_code == 200
    settings.MAX_PROJECTS_PER_USER = 1
    refused = post(otto, "/api/projects", {"group_id": group.pk, "name": "Beta"})
    assert refused.status_code == 409 and "limit" in refused.json()["detail"]


def test_projects_are_private(group, client_for):
    created = post(
        client_for("op_otto"), "/api/projects", {"group_id": group.pk, "name": "Mine"}
    ).json()
    olga = client_for("op_olga")
    assert olga.post(f"/api/projects/{created['id']}/set-active").status_code == 404
    assert (
        olga.put(
            f"/api/projects/{created['id']}",
            json.dumps({"name": "Hers"}),
            content_type="application/json",
        ).status_code
        == 404
    )
    assert (
        olga.delete(
            f"/api/projects/{created['id']}",
            json.dumps({"confirm": True}),
            content_type="application/json",
        ).status_code
        == 404
    )
    assert all(p["name"] != "Mine" for p in olga.get("/api/projects").json())


def test_rename_moves_the_data_and_delete_needs_confirmation_and_backs_up(
    group, client_for, settings, tmp_path
):
    settings.BASE_DATA_PATH = tmp_path
    client = client_for("op_otto")
    created = post(client, "/api/projects", {"group_id": group.pk, "name": "Old"}).json()
    project = UserProject.objects.get(pk=created["id"])
    (project_data_dir(project) / "config.json").write_text('{"a": 1}')
    renamed = client.put(
        f"/api/projects/{project.pk}", json.dumps({"name": "New"}), content_type="application/json"
    )
    assert renamed.json()["name"] == "New"
    project.refresh_from_db()
    assert (project_data_dir(project) / "config.json").read_text() == '{"a": 1}'
    url = f"/api/projects/{project.pk}"
    refused = client.delete(url, json.dumps({"confirm": False}), content_type="application/json")
    assert refused.status_code == 400 and UserProject.objects.filter(pk=project.pk).exists()
    deleted = client.delete(
        url, json.dumps({"confirm": True}), content_type="application/json"
    ).json()
    assert deleted["deleted"] is True and deleted["backup"].endswith(".zip")
    assert (tmp_path / "backups" / deleted["backup"]).is_file()
    assert not project_data_dir(project).exists()
    client.get(f"/api/projects?group_id={group.pk}")  # creates the default project
    default = UserProject.objects.get(name="project_default", user=project.user)
    refused = client.delete(
        f"/api/projects/{default.pk}",
        json.dumps({"confirm": True}),
        content_type="application/json",
    )
    assert refused.status_code == 400


def test_the_group_page_switches_between_projects(group, client_for):
    client = client_for("op_otto")
    page = client.get(f"/groups/{group.pk}/").content.decode()
    assert 'data-testid="project-select"' in page
    assert '<option value="' in page and "selected>project_default</option>" in page
    created = post(client, "/api/projects", {"group_id": group.pk, "name": "Trial B"}).json()
    client.post(f"/api/projects/{created['id']}/set-active")
    page = client.get(f"/groups/{group.pk}/").content.decode()
    assert f'<option value="{created["id"]}" selected>Trial B</option>' in page


def test_the_dashboard_shows_each_groups_active_project(group, client_for):
    client = client_for("op_otto")
    assert "project_default" in client.get("/").content.decode()
    created = post(client, "/api/projects", {"group_id": group.pk, "name": "Night shift"}).json()
    client.post(f"/api/projects/{created['id']}/set-active")
    page = client.get("/").content.decode()
    assert "Night shift</span>" in page


def test_creating_and_deleting_are_audited_with_the_backup(group, client_for, settings, tmp_path):
    from accounts.models import AuditEvent

    settings.BASE_DATA_PATH = tmp_path
    client = client_for("op_otto")
    created = post(client, "/api/projects", {"group_id": group.pk, "name": "Audited"}).json()
    deleted = client.delete(
        f"/api/projects/{created['id']}",
        json.dumps({"confirm": True}),
        content_type="application/json",
    ).json()
    events = {e.action: e for e in AuditEvent.objects.filter(actor_username="op_otto")}
    made = events[AuditEvent.Action.PROJECT_CREATED]
    gone = events[AuditEvent.Action.PROJECT_DELETED]
    assert (made.target_type, made.target_id, made.target_repr) == (
        "userproject",
        str(created["id"]),
        "Audited",
    )
    assert gone.target_id == str(created["id"])
    assert gone.details == {"group": "lab", "backup": deleted["backup"]}


THE_GROUP = "the group"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No group"}, "group_id"),
        ({"group_id": 999999, "name": "Unknown group"}, "group_id"),
        ({"group_id": THE_GROUP, "name": "project_default"}, "name"),
        ({"group_id": THE_GROUP, "name": "semi;colon"}, "name"),
        ({"group_id": THE_GROUP, "name": "Long", "description": "x" * 2001}, "description"),
    ],
)
def test_bad_input_names_its_field_and_changes_nothing(group, client_for, body, field):
    if body.get("group_id") == THE_GROUP:
        body = {**body, "group_id": group.pk}
    client = client_for("op_otto")
    client.get(f"/api/projects?group_id={group.pk}")  # the default project
    before = list(UserProject.objects.values_list("pk", "name"))
    refused = post(client, "/api/projects", body)
    assert refused.status_code == 400, refused.content
    errors = refused.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    # Our own (translated) message, never pydantic's English one.
    assert errors[0]["message"] and "Field required" not in errors[0]["message"]
    assert list(UserProject.objects.values_list("pk", "name")) == before


def test_an_invisible_group_is_refused_like_an_unknown_one(client_for, db):
    hidden = ScriptGroup.objects.create(directory_name="ops", name="Ops", required_level="admin")
    refused = post(client_for("op_otto"), "/api/projects", {"group_id": hidden.pk, "name": "x"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "group_id"
    assert not UserProject.objects.exists()


def test_the_limit_message_names_the_limit_and_nothing_is_created(group, client_for, settings):
    settings.MAX_PROJECTS_PER_USER = 2
    client = client_for("op_otto")
    assert post(client, "/api/projects", {"group_id": group.pk, "name": "One"}).status_code == 200
    assert post(client, "/api/projects", {"group_id": group.pk, "name": "Two"}).status_code == 200
    refused = post(client, "/api/projects", {"group_id": group.pk, "name": "Three"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "You have reached the limit of 2 projects. Delete one to create another."
    )
    assert not UserProject.objects.filter(name="Three").exists()


def test_renaming_checks_the_name_and_the_description(group, client_for):
    client = client_for("op_otto")
    first = post(client, "/api/projects", {"group_id": group.pk, "name": "First"}).json()
    post(client, "/api/projects", {"group_id": group.pk, "name": "Second"})
    for body, field in [
        ({"name": "Second"}, "name"),
        ({"name": "project_default"}, "name"),
        ({"name": "a/b"}, "name"),
        ({"description": "x" * 2001}, "description"),
    ]:
        refused = client.put(
            f"/api/projects/{first['id']}", json.dumps(body), content_type="application/json"
        )
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == field
    assert UserProject.objects.get(pk=first["id"]).name == "First"


@pytest.mark.django_db(transaction=True)
def test_creations_at_once_never_pass_the_limit(tree, settings, personas):
    import threading

    from django.db import connection
    from django.test import Client

    tree.group("lab", {"name": "Lab"})
    group = ScriptGroup.objects.create(directory_name="lab", name="Lab")
    settings.MAX_PROJECTS_PER_USER = 3
    start = threading.Barrier(8)
    statuses = []

    def create(number: int) -> None:
        client = Client()
        client.force_login(personas["op_otto"])
        start.wait()
        try:
            statuses.append(
                post(
                    client, "/api/projects", {"group_id": group.pk, "name": f"P{number}"}
                ).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200] * 3 + [409] * 5
    assert UserProject.objects.filter(user=personas["op_otto"]).count() == 3


def test_renaming_a_project_whose_script_runs_is_refused_and_moves_nothing(
    group, client_for, settings, tmp_path
):
    settings.BASE_DATA_PATH = tmp_path
    client = client_for("op_otto")
    created = post(client, "/api/projects", {"group_id": group.pk, "name": "Busy"}).json()
    project = UserProject.objects.get(pk=created["id"])
    (project_data_dir(project) / "state.json").write_text("{}")
    log = ExecutionLog.objects.create(user=project.user, username="op_otto", project=project)
    ScriptProcess.objects.create(
        execution=log, user=project.user, tab_session_id="busy", exit_file="x", status="running"
    )
    refused = client.put(
        f"/api/projects/{project.pk}", json.dumps({"name": "Idle"}), content_type="application/json"
    )
    assert refused.status_code == 409
    assert "running" in refused.json()["detail"]
    project.refresh_from_db()
    assert project.name == "Busy" and (project_data_dir(project) / "state.json").exists()
