"""The log pages: who may open them, and what they cost in queries."""

import pytest
from django.test import Client

from accounts.models import AuditEvent
from catalog.discovery import discovery_run
from catalog.models import Script
from execution.parameters import SECRET_MASK
from logs.models import ExecutionLog
from projects.services import project_ensure_default


def make_log(user, *, script=None, project=None, status="completed", params=None):
    return ExecutionLog.objects.create(
        user=user,
        username=user.username,
        script=script,
        script_name=script.filename if script else "calc.py",
        project=project,
        project_name=project.name if project else "project_default",
        status=status,
        parameters=params or {},
        duration_seconds=1.5,
        exit_code=0,
    )


@pytest.fixture
def scripts(tree, db):
    """Two discovered scripts in two groups: lab/calc.py and plant/report.py."""
    tree.group("lab", {"name": "Lab", "icon": "gear"})
    tree.group("plant", {"name": "Plant", "icon": "gear"})
    tree.script("lab", "calc.py", "@description: Calc\n@interface: false")
    tree.script("plant", "report.py", "@description: Report\n@interface: false")
    discovery_run()
    return {s.filename: s for s in Script.objects.select_related("group")}


def test_the_list_page_costs_the_same_queries_however_many_logs(
    personas, client_for, scripts, django_assert_num_queries
):
    otto = personas["op_otto"]
    calc = scripts["calc.py"]
    make_log(otto, script=calc, project=project_ensure_default(user=otto, group=calc.group))
    client = client_for("op_otto")
    client.get("/logs/")
    # session, user, the scripts you ran (distinct), your projects with their groups,
    # your bookmarked runs
    with django_assert_num_queries(5):
        few = client.get("/logs/")
    assert few.status_code == 200

    for script in scripts.values():
        project = project_ensure_default(user=otto, group=script.group)
        for _ in range(20):
            make_log(otto, script=script, project=project)
    make_log(personas["op_olga"], script=scripts["report.py"])
    with django_assert_num_queries(5):
        many = client.get("/logs/")
    assert many.status_code == 200
    page = many.content.decode()
    assert page.count(f'<option value="{calc.pk}">calc.py</option>') == 1
    assert "report.py" in page
    assert 'id="sm-logs-config"' in page


def test_the_list_page_offers_only_your_own_scripts(personas, client_for, scripts):
    make_log(personas["op_olga"], script=scripts["report.py"])
    page = client_for("op_otto").get("/logs/").content.decode()
    assert "report.py" not in page


def test_it_refuses_another_users_log(personas, client_for):
    theirs = make_log(personas["op_olga"])
    response = client_for("op_otto").get(f"/logs/{theirs.execution_uuid}/")
    assert response.status_code == 404
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.LOG_ACCESS_REFUSED, actor_username="op_otto"
    ).exists()


def test_a_missing_log_is_not_found(personas, client_for):
    response = client_for("op_otto").get("/logs/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOG_ACCESS_REFUSED).exists()


def test_its_owner_and_an_admin_may_open_a_log(personas, client_for):
    log = make_log(personas["op_olga"], params={"value": 3})
    mine = client_for("op_olga").get(f"/logs/{log.execution_uuid}/")
    assert mine.status_code == 200
    assert 'data-testid="delete"' in mine.content.decode()
    admin = client_for("ada_admin").get(f"/logs/{log.execution_uuid}/")
    assert admin.status_code == 200
    page = admin.content.decode()
    assert "op_olga" in page
    # Someone else's log: an admin reads it but neither deletes nor re-runs it.
    assert 'data-testid="delete"' not in page
    assert 'data-testid="rerun"' not in page
    assert 'data-testid="bookmark"' not in page


def test_a_run_with_a_secret_parameter_is_run_again_from_the_scripts_form(
    personas, client_for, scripts
):
    calc = scripts["calc.py"]
    plain = make_log(personas["op_otto"], script=calc, params={"value": 3})
    secret = make_log(personas["op_otto"], script=calc, params={"token": SECRET_MASK})
    client = client_for("op_otto")
    page = client.get(f"/logs/{plain.execution_uuid}/").content.decode()
    assert 'data-sm-action="rerun"' in page
    page = client.get(f"/logs/{secret.execution_uuid}/").content.decode()
    assert 'data-sm-action="rerun"' not in page
    assert f'href="/groups/{calc.group_id}/#script-{calc.pk}" data-testid="rerun"' in page
    assert 'data-testid="masked-hint"' in page


def test_a_viewer_cannot_run_again(personas, client_for, scripts):
    log = make_log(personas["vic_viewer"], script=scripts["calc.py"])
    page = client_for("vic_viewer").get(f"/logs/{log.execution_uuid}/").content.decode()
    assert 'data-testid="rerun"' not in page


@pytest.mark.parametrize("path", ["/logs/", "/logs/00000000-0000-0000-0000-000000000000/"])
def test_anonymous_visitors_are_sent_to_the_login_page(db, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
