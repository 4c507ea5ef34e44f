"""Issue 11 item 6: names that the old rule folded together ("op1", "op1.",
"op1_", ...) get folders of their own, for data, logs and backups."""

import re

import pytest
from django.test import Client

from accounts.models import User
from catalog.models import ScriptGroup
from logs.services import storage_used
from projects.models import UserProject
from projects.services import project_data_dir, project_data_dir_ensure, user_logs_dir
from scriptsmanager.testing import PERSONA_PASSWORD

LOOKALIKES = ("op1", "op1.", "op1_", ".op1", "op1+", "op1@")


@pytest.fixture
def data_root(settings, tmp_path):
    settings.BASE_DATA_PATH = tmp_path / "data"
    return settings.BASE_DATA_PATH


@pytest.fixture
def lab(db, data_root):
    return ScriptGroup.objects.create(directory_name="lab", name="Lab")


def operator(username: str) -> User:
    # Emails are unique: one per user, whatever the name.
    email = f"user{User.objects.count()}@example.com"
    return User.objects.create_user(
        username=username, email=email, password=PERSONA_PASSWORD, user_level="operator"
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def default_project(user: User, group: ScriptGroup) -> UserProject:
    project = UserProject.objects.create(
        user=user, group=group, name="project_default", is_default=True
    )
    return UserProject.objects.select_related("user", "group").get(pk=project.pk)


def test_lookalike_usernames_get_distinct_data_and_log_folders(lab):
    users = [operator(name) for name in LOOKALIKES]
    data = {project_data_dir(default_project(user, lab)) for user in users}
    logs = {user_logs_dir(user) for user in users}
    assert len(data) == len(LOOKALIKES) and len(logs) == len(LOOKALIKES)
    # The readable part stays: the folder starts with the cleaned name.
    op1 = users[0]
    assert user_logs_dir(op1).name == f"op1-{op1.pk}"


def test_lookalike_project_and_group_names_get_distinct_folders(db, data_root):
    user = operator("op1")
    groups = [
        ScriptGroup.objects.create(directory_name=name, name=name) for name in ("g.", "g_", "g")
    ]
    folders = set()
    for group in groups:
        for name in ("a.", "a_", "a"):
            project = UserProject.objects.create(user=user, group=group, name=name)
            folders.add(project_data_dir(project))
    assert len(folders) == 9
    assert len({folder.parents[1] for folder in folders}) == 3


def test_a_lookalike_user_cannot_read_or_overwrite_another_users_files(lab):
    owner, lookalike = operator("op1"), operator("op1.")
    mine, theirs = default_project(owner, lab), default_project(lookalike, lab)
    url = f"/api/data/{lab.pk}"
    written = signed_in(owner).post(
        f"{url}/{mine.pk}/secret.json", data=b'{"pin": 1}', content_type="application/octet-stream"
    )
    assert written.status_code == 200, written.content

    other = signed_in(lookalike)
    assert other.get(f"{url}/{theirs.pk}/files").json() == []
    assert other.get(f"{url}/{theirs.pk}/secret.json").status_code == 404
    other.post(
        f"{url}/{theirs.pk}/secret.json",
        data=b'{"pin": 2}',
        content_type="application/octet-stream",
    )
    assert (project_data_dir(mine) / "secret.json").read_bytes() == b'{"pin": 1}'


def test_deleting_or_resetting_victim_underscore_leaves_victims_data(lab, personas):
    victim, lookalike = operator("victim"), operator("victim_")
    kept = project_data_dir_ensure(default_project(victim, lab)) / "results.json"
    kept.write_bytes(b"[42]")
    logs = user_logs_dir(victim) / "2026-12-01"
    logs.mkdir(parents=True)
    (logs / "execution_x.stdout.log").write_bytes(b"victim's run")
    project_data_dir_ensure(default_project(lookalike, lab))
    admin = signed_in(personas["ada_admin"])

    reset = admin.post(
        f"/api/admin/users/{lookalike.pk}/reset-data", '{"confirm": true}', "application/json"
    )
    assert reset.status_code == 200, reset.content
    assert kept.read_bytes() == b"[42]"
    deleted = admin.delete(f"/api/admin/users/{lookalike.pk}")
    assert deleted.status_code == 200, deleted.content
    assert not User.objects.filter(pk=lookalike.pk).exists()
    assert kept.read_bytes() == b"[42]"
    assert storage_used(user=victim) == len(b"victim's run")
    assert storage_used(user=User(pk=lookalike.pk, username="victim_")) == 0


def test_backup_zips_of_lookalike_users_and_projects_have_distinct_names(lab):
    names = set()
    for username in ("op1", "op1."):
        user = operator(username)
        for project_name in ("a.", "a_"):
            project = UserProject.objects.create(user=user, group=lab, name=project_name)
            response = signed_in(user).post(f"/api/data/{lab.pk}/{project.pk}/backup")
            assert response.status_code == 200, response.content
            # Without the time stamp (and the _2 a second zip in the same second gets).
            disposition = response["Content-Disposition"]
            names.add(re.sub(r"_\d{8}_\d{6}(_\d+)?\.zip", "", disposition))
    assert len(names) == 4
