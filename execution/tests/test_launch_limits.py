"""Launch limits: runs without an interface take no port, concurrent runs are
limited in all and per user (checked and taken atomically), a user over the
log quota cannot launch, and a start that fails is recorded as failed."""

import json
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from execution.models import PortAllocation, ScriptProcess
from execution.services import LIVE
from logs.models import ExecutionLog
from scriptsmanager.testing import free_port

from .conftest import WEB
from .test_execute import execute, wait_final

# Prints its command line, then waits until it is stopped.
WAITS = "import json, sys, time\nprint(json.dumps(sys.argv[1:]), flush=True)\ntime.sleep(600)\n"


def _stdout(log: ExecutionLog, timeout: float = 20.0) -> str:
    """The run's stdout once it has printed a whole line."""
    from django.conf import settings

    path = Path(settings.LOGS_DIR) / log.stdout_path
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.endswith("\n"):
            return text
        time.sleep(0.05)
    raise AssertionError("the script printed nothing")


def _live(**filters) -> int:
    return ScriptProcess.objects.filter(status__in=LIVE, **filters).count()


def test_runs_without_an_interface_take_no_port_and_get_port_zero(
    make_script, client_for, settings
):
    settings.MAX_RUNS_PER_USER = settings.MAX_CONCURRENT_RUNS = 40
    port = free_port()
    settings.PORT_RANGE_START = settings.PORT_RANGE_END = port  # one port in all
    batch = make_script("batch.py", WAITS, interface="false")
    otto = client_for("op_otto")
    started = []
    for _ in range(32):
        response = execute(otto, batch)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "running" and response.json()["port"] is None
        started.append(response.json()["execution_id"])
    assert _live(user__username="op_otto") == 32
    assert PortAllocation.objects.count() == 0
    log = ExecutionLog.objects.get(execution_uuid=started[0])
    assert log.flask_port is None
    argv = json.loads(_stdout(log))
    assert argv[argv.index("--port") + 1] == "0"

    # The one port of the range is still there for an interface.
    web = make_script("web.py", WEB)
    response = execute(client_for("op_olga"), web)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "running" and response.json()["port"] == port


def test_a_script_that_requires_port_runs_with_port_zero(make_script, client_for):
    body = (
        "import argparse\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--port', type=int, required=True)\n"
        "args, _ = parser.parse_known_args()\n"
        "print(f'port={args.port}')\n"
    )
    script = make_script("strict.py", body, interface="false")
    response = execute(client_for("op_otto"), script)
    log = wait_final(response.json()["execution_id"])
    assert log.status == "completed", log.error_output
    assert log.output == "port=0\n"


def test_run_limits_in_all_and_per_user_answer_429(make_script, client_for, settings):
    settings.MAX_RUNS_PER_USER = 2
    settings.MAX_CONCURRENT_RUNS = 3
    batch = make_script("batch.py", WAITS, interface="false")
    otto = client_for("op_otto")
    assert execute(otto, batch).status_code == 200
    assert execute(otto, batch).status_code == 200
    refused = execute(otto, batch)
    assert refused.status_code == 429
    assert "You already have 2 scripts running, your limit" in refused.json()["detail"]
    assert execute(client_for("op_olga"), batch).status_code == 200
    refused = execute(client_for("dev_dora"), batch)
    assert refused.status_code == 429
    assert "The server already runs 3 scripts, its limit" in refused.json()["detail"]
    # A refusal creates nothing.
    assert ExecutionLog.objects.count() == 3 and _live() == 3


def test_interfaces_count_towards_the_run_limits(make_script, client_for, settings):
    settings.MAX_RUNS_PER_USER = 1
    otto = client_for("op_otto")
    assert execute(otto, make_script("web.py", WEB)).status_code == 200
    batch = make_script("batch.py", WAITS, interface="false")
    assert execute(otto, batch).status_code == 429


def test_an_ended_run_frees_its_place(make_script, client_for, settings):
    settings.MAX_RUNS_PER_USER = 1
    quick = make_script("quick.py", "print('done')\n", interface="false")
    otto = client_for("op_otto")
    first = execute(otto, quick).json()
    assert wait_final(first["execution_id"]).status == "completed"
    assert execute(otto, quick).status_code == 200


def _launch_at_once(script, usernames: list[str], personas) -> list[int]:
    """Launch `script` once per name, all at the same moment, each from its own
    thread with its own database connection; the HTTP statuses."""
    start = threading.Barrier(len(usernames))
    statuses: list[int] = []

    def launch(username: str) -> None:
        client = Client()
        client.force_login(personas[username])
        start.wait()
        try:
            statuses.append(execute(client, script).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=launch, args=(name,)) for name in usernames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(statuses)


@pytest.mark.django_db(transaction=True)
def test_launches_at_once_never_pass_the_per_user_run_limit(make_script, personas, settings):
    settings.MAX_RUNS_PER_USER = 1
    batch = make_script("batch.py", WAITS, interface="false")
    assert _launch_at_once(batch, ["op_otto"] * 6, personas) == [200] + [429] * 5
    assert _live() == 1


@pytest.mark.django_db(transaction=True)
def test_launches_at_once_never_pass_the_server_run_limit(make_script, personas, settings):
    settings.MAX_CONCURRENT_RUNS = 1
    batch = make_script("batch.py", WAITS, interface="false")
    users = ["op_otto", "op_olga", "dev_dora", "ada_admin"]
    assert _launch_at_once(batch, users, personas) == [200] + [429] * 3
    assert _live() == 1


@pytest.mark.django_db(transaction=True)
def test_interface_launches_at_once_never_pass_the_per_user_limit(make_script, personas, settings):
    settings.MAX_INTERFACES_PER_USER = 1
    web = make_script("web.py", WEB)
    assert _launch_at_once(web, ["op_otto"] * 4, personas) == [200] + [429] * 3
    assert _live(has_interface=True) == 1
    assert PortAllocation.objects.exclude(status="released").count() == 1


def test_a_user_over_the_log_quota_cannot_launch_until_logs_are_deleted(
    make_script, client_for, settings
):
    settings.LOG_STORAGE_QUOTA_MB = 1
    chatty = make_script(
        "chatty.py", "import sys\nsys.stdout.write('x' * (1200 * 1024))\n", interface="false"
    )
    otto = client_for("op_otto")
    first = execute(otto, chatty).json()
    assert wait_final(first["execution_id"]).status == "completed"

    refused = execute(otto, chatty)
    assert refused.status_code == 507
    detail = refused.json()["detail"]
    assert "of your 1.0\xa0MB quota" in detail and "Delete old logs on the Logs page" in detail
    assert ExecutionLog.objects.count() == 1
    # Another user's quota is their own.
    assert execute(client_for("op_olga"), chatty).status_code == 200

    assert otto.delete(f"/api/logs/execution/{first['execution_id']}").status_code == 200
    assert execute(otto, chatty).status_code == 200


def test_a_start_that_fails_marks_the_run_failed_and_frees_its_port(
    make_script, client_for, settings
):
    # Each value passes the byte limit raised here, but the command line is
    # over the kernel's per-argument limit (MAX_ARG_STRLEN, 128 KiB): exec fails.
    settings.SCRIPT_PARAMETER_MAX_BYTES = 1024 * 1024
    settings.MAX_RUNS_PER_USER = 1
    script = make_script("web.py", WEB, parameters=[{"name": "note", "type": "string"}])
    otto = client_for("op_otto")
    response = execute(otto, script, {"note": "\U0001f600" * 40_000})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "failed" and body["interface_url"] is None
    assert "could not be started" in body["error"] and "Argument list too long" in body["error"]
    log = ExecutionLog.objects.get(execution_uuid=body["execution_id"])
    assert log.status == "failed" and log.end_time is not None
    assert log.process.status == "ended" and log.process.stop_reason == "failed_start"
    assert PortAllocation.objects.get(execution=log).status == "released"
    # The failed run holds no place under the limits.
    assert execute(otto, script, {"note": "short"}).json()["status"] == "running"


def test_a_start_in_a_vanished_folder_marks_the_run_failed(make_script, client_for, tree):
    import shutil

    script = make_script("quick.py", "print('done')\n", interface="false")
    shutil.rmtree(script.group.path)
    body = execute(client_for("op_otto"), script).json()
    assert body["status"] == "failed" and "could not be started" in body["error"]
    assert ExecutionLog.objects.get().status == "failed"
    assert _live() == 0


def test_a_huge_value_is_refused_by_bytes_naming_the_field(make_script, client_for, settings):
    script = make_script("web.py", WEB, parameters=[{"name": "note", "type": "text"}])
    response = execute(client_for("op_otto"), script, {"note": "\U0001f600" * 100_000})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["note"]
    assert f"at most {settings.SCRIPT_PARAMETER_MAX_BYTES} bytes" in errors[0]["message"]
    assert ExecutionLog.objects.count() == 0 and PortAllocation.objects.count() == 0


@pytest.mark.parametrize(
    ("kind", "value"), [("float", 10**400), ("int", 10**400)], ids=["float", "int"]
)
def test_a_number_that_does_not_fit_is_refused_naming_the_field(
    make_script, client_for, kind, value
):
    script = make_script("web.py", WEB, parameters=[{"name": "n", "type": kind}])
    otto = client_for("op_otto")
    response = otto.post(
        f"/api/scripts/{script.pk}/execute",
        f'{{"parameters": {{"n": {value}}}}}',
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["n"]
    assert ExecutionLog.objects.count() == 0 and PortAllocation.objects.count() == 0


def test_a_launch_whose_worker_died_before_its_runner_is_ended_later(personas):
    from datetime import timedelta

    from django.utils import timezone

    from execution.services import ORPHAN_AGE, executions_reconcile

    otto = personas["op_otto"]
    log = ExecutionLog.objects.create(
        script_name="x.py", user=otto, username="op_otto", project_name="p"
    )
    process = ScriptProcess.objects.create(execution=log, user=otto, tab_session_id="t")
    # Its launch may still be starting the runner: left alone.
    executions_reconcile()
    assert ScriptProcess.objects.get(pk=process.pk).status == "starting"
    ScriptProcess.objects.filter(pk=process.pk).update(
        started_at=timezone.now() - ORPHAN_AGE - timedelta(seconds=1)
    )
    assert executions_reconcile()["finalized"] == 1
    assert ScriptProcess.objects.get(pk=process.pk).status == "ended"
    assert ExecutionLog.objects.get(pk=log.pk).status == "lost"
