"""The projects page, the files page and the header's project switcher, server side."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from catalog.models import ScriptGroup
from projects.models import UserProject
from projects.services import project_data_dir


@pytest.fixture
def data_root(settings, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    settings.BASE_DATA_PATH = root
    return root


@pytest.fixture
def groups(db, data_root):
    return {
        "lab": ScriptGroup.objects.create(directory_name="lab", name="Lab", icon="beaker"),
        "ops": ScriptGroup.objects.create(
            directory_name="ops", name="Operations", required_level="developer"
        ),
    }


def create(client, group, name, description=""):
    response = client.post(
        "/api/projects",
        json.dumps({"group_id": group.pk, "name": name, "description": description}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def rows(html: str) -> list[str]:
    """The project names on the page, in order."""
    return re.findall(r'data-testid="project-name">([^<]*)<', html)


def row_html(html: str, project_id: int) -> str:
    start = html.index(f'id="project-{project_id}"')
    ends = [html.find(mark, start) for mark in ("sm-project-row", "</section>")]
    return html[start : min(e for e in ends if e > 0)]


def test_the_page_shows_your_projects_by_group_with_their_badges_and_usage(
    groups, client_for, personas
):
    dora = client_for("dev_dora")
    trial = create(dora, groups["lab"], "Trial B", "Second batch")
    create(dora, groups["ops"], "Night shift")
    dora.post(f"/api/projects/{trial['id']}/set-active")
    project = UserProject.objects.select_related("user", "group").get(pk=trial["id"])
    (project_data_dir(project) / "result.json").write_text('{"ok": true}')

    page = dora.get("/projects/")

    assert page.status_code == 200
    html = page.content.decode()
    # Every group's default project exists from the first visit, listed first.
    assert rows(html) == ["project_default", "Trial B", "project_default", "Night shift"]
    trial_row = row_html(html, trial["id"])
    assert 'data-testid="project-active"' in trial_row
    assert "Second batch" in trial_row
    assert "1 file" in trial_row and "12\xa0bytes" in trial_row
    assert html.count('data-testid="project-active"') == 2  # one per group
    assert html.count('data-testid="project-default"') == 2
    assert html.count('data-testid="project-delete"') == 2  # defaults cannot be deleted
    assert "4 of 50 projects" in html


def test_another_users_projects_never_appear(groups, client_for):
    create(client_for("op_olga"), groups["lab"], "Olga secret plan")
    html = client_for("op_otto").get("/projects/").content.decode()
    assert "Olga secret plan" not in html
    assert rows(html) == ["project_default"]


def test_groups_you_cannot_see_are_left_out_but_their_projects_still_count(
    groups, client_for, personas
):
    UserProject.objects.create(user=personas["op_otto"], group=groups["ops"], name="Old access")
    html = client_for("op_otto").get("/projects/").content.decode()
    assert "Old access" not in html and "Operations" not in html
    assert 'data-testid="project-hidden"' in html
    assert "2 of 50 projects" in html
    assert f'<option value="{groups["ops"].pk}"' not in html


def test_the_page_queries_do_not_grow_with_projects(groups, client_for, django_assert_num_queries):
    client = client_for("dev_dora")
    client.get("/projects/")  # creates the default projects
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/projects/").status_code == 200
    one = len(captured)  # now: the next request empties the connection's log
    for n in range(9):
        create(client, groups["lab" if n % 2 else "ops"], f"Project {n}")
    # session, user, groups (with counts), projects (with group and user)
    with django_assert_num_queries(one):
        ten = client.get("/projects/")
    assert one == 4
    assert ten.content.decode().count('data-testid="project-row"') == 11


def test_at_the_limit_the_page_says_so_and_the_form_is_disabled(groups, client_for, settings):
    settings.MAX_PROJECTS_PER_USER = 2
    client = client_for("op_otto")
    create(client, groups["lab"], "Second")
    html = client.get("/projects/").content.decode()
    assert "2 of 2 projects" in html
    assert 'data-testid="project-limit"' in html
    assert "You have reached the limit of 2 projects." in html
    assert re.search(r'<fieldset class="card-body" disabled>', html)


def test_the_navbar_links_to_the_page_and_marks_it_active(groups, client_for):
    client = client_for("vic_viewer")
    dashboard = client.get("/").content.decode()
    link = '<a class="nav-link" href="/projects/" data-testid="nav-projects">'
    assert link in dashboard
    page = client.get("/projects/").content.decode()
    assert '<a class="nav-link active" href="/projects/" data-testid="nav-projects">' in page


def test_the_group_page_has_the_switcher_in_the_header_only(groups, client_for):
    client = client_for("op_otto")
    created = create(client, groups["lab"], "Trial B")
    client.post(f"/api/projects/{created['id']}/set-active")
    html = client.get(f"/groups/{groups['lab'].pk}/").content.decode()
    navbar = html[html.index('<nav class="navbar') : html.index("</nav>")]
    assert 'data-testid="project-select"' in navbar
    assert f'<option value="{created["id"]}" selected>Trial B</option>' in navbar
    assert html.count('id="sm-project"') == 1
    # Pages without a group have no switcher.
    assert 'data-testid="project-select"' not in client.get("/projects/").content.decode()


def test_the_files_page_is_yours_only(groups, client_for, personas):
    mine = create(client_for("op_otto"), groups["lab"], "Mine")
    page = client_for("op_otto").get(f"/projects/{mine['id']}/files/")
    assert page.status_code == 200
    assert f'data-data-url="/api/data/{groups["lab"].pk}/{mine["id"]}"' in page.content.decode()

    refused = client_for("op_olga").get(f"/projects/{mine['id']}/files/")
    assert refused.status_code == 404
    assert "Mine" not in refused.content.decode()
    assert client_for("op_olga").get("/projects/999999/files/").status_code == 404
    event = AuditEvent.objects.get(action=AuditEvent.Action.DATA_ACCESS_REFUSED)
    assert event.actor_username == "op_olga" and event.target_id == str(mine["id"])


def test_the_files_page_of_a_project_in_a_group_you_no_longer_see_is_404(
    groups, client_for, personas
):
    project = UserProject.objects.create(user=personas["op_otto"], group=groups["ops"], name="x")
    assert client_for("op_otto").get(f"/projects/{project.pk}/files/").status_code == 404


def test_anonymous_visitors_are_sent_to_the_login(groups, client):
    response = client.get("/projects/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
