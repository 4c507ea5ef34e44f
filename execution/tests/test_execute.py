import json
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from accounts.models import AuditEvent
from execution.models import PortAllocation, ScriptProcess
from execution.services import executions_reconcile, runner_alive
from logs.models import ExecutionLog
from projects.models import UserProject
from scriptsmanager.testing import free_port

from .conftest import WEB


def execute(client, script, parameters=None, **extra):
    body = {"parameters": parameters or {}, **extra}
    return client.post(
        f"/api/scripts/{script.pk}/execute", json.dumps(body), content_type="application/json"
    )


def wait_final(execution_uuid, timeout=20.0) -> ExecutionLog:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        executions_reconcile()
        log = ExecutionLog.objects.get(execution_uuid=execution_uuid)
        if log.is_final:
            return log
        time.sleep(0.1)
    raise AssertionError("the execution did not end")


def test_an_interface_script_starts_with_the_contract_and_stops(make_script, client_for, personas):
    script = make_script("web.py", WEB, parameters=[{"name": "level", "type": "int", "default": 3}])
    client = client_for("op_otto")
    response = execute(client, script, {"level": 5})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "running"
    assert body["interface_url"].startswith("/interfaces/")
    process = ScriptProcess.objects.get(execution__execution_uuid=body["execution_id"])
    with urllib.request.urlopen(f"http://127.0.0.1:{process.flask_port}/", timeout=5) as reply:
        seen = json.load(reply)
    argv = seen["argv"]
    assert argv[argv.index("--port") + 1] == str(process.flask_port)
    assert argv[argv.index("--user-level") + 1] == "operator"
    assert argv[argv.index("--project-name") + 1] == "project_default"
    assert argv[argv.index("--theme") + 1] == "light" and argv[argv.index("--language") + 1] == "en"
    assert argv[-2:] == ["--level", "5"]
    data_dir = Path(argv[argv.index("--data-dir") + 1])
    project = UserProject.objects.get(user__username="op_otto")
    assert data_dir.is_dir() and data_dir.parts[-3:] == (
        f"lab-{script.group_id}",
        f"op_otto-{project.user_id}",
        f"project_default-{project.pk}",
    )
    assert seen["env"] == f"/interfaces/{process.tab_session_id}/app/"

    stopped = client.post(
        f"/api/scripts/{script.pk}/stop",
        json.dumps({"execution_id": body["execution_id"]}),
        content_type="application/json",
    )
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "terminated" and stopped.json()["stop_reason"] == "user"
    process.refresh_from_db()
    assert not runner_alive(process)
    assert PortAllocation.objects.get(execution=process.execution).status == "released"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"execution_started", "execution_stopped"} <= actions


def test_viewers_cannot_run_and_operators_need_the_scripts_level(make_script, client_for):
    script = make_script("dev_only.py", WEB, required_level="developer")
    public = make_script("public.py", WEB)
    assert execute(client_for("vic_viewer"), public).status_code == 403
    assert execute(client_for("op_otto"), script).status_code == 404  # not even visible
    assert ExecutionLog.objects.count() == 0


def test_bad_parameters_are_a_400_naming_each_field(make_script, client_for):
    script = make_script(
        "p.py",
        WEB,
        parameters=[
            {"name": "n", "type": "int", "min": 1, "max": 5, "required": True},
            {"name": "mode", "type": "select", "options": ["a", "b"]},
        ],
    )
    response = execute(client_for("op_otto"), script, {"n": 9, "mode": "c", "extra": 1})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"n", "mode", "extra"}
    assert ExecutionLog.objects.count() == 0


def test_a_missing_environment_is_named(make_script, client_for, tree):
    script = make_script("env.py", WEB)
    script.conda_environment = "ghost-env"
    script.save()
    response = execute(client_for("op_otto"), script)
    assert response.status_code == 400
    assert "ghost-env" in response.json()["detail"]


def test_a_script_that_crashes_at_start_fails_with_its_stderr(make_script, client_for):
    script = make_script(
        "crash.py", "import sys\nprint('boom: missing config', file=sys.stderr)\nsys.exit(3)\n"
    )
    body = execute(client_for("op_otto"), script).json()
    assert body["status"] == "failed"
    assert "boom: missing config" in body["error"]
    assert body["exit_code"] == 3
    assert PortAllocation.objects.filter(status="released").count() == 1


def test_a_script_that_never_listens_fails_and_is_stopped(make_script, client_for, settings):
    settings.INTERFACE_READY_TIMEOUT = 2
    script = make_script("mute.py", "import time\nprint('thinking')\ntime.sleep(60)\n")
    body = execute(client_for("op_otto"), script).json()
    assert body["status"] == "failed"
    log = ExecutionLog.objects.get()
    assert "did not accept connections" in log.debug_output
    assert not runner_alive(log.process)


def test_a_script_without_interface_runs_to_completion(make_script, client_for):
    script = make_script(
        "batch.py",
        "import json, sys\nprint(json.dumps(sys.argv[1:]))\n",
        interface="false",
        parameters=[{"name": "x", "type": "string", "default": "42"}],
    )
    body = execute(client_for("op_otto"), script).json()
    assert body["interface_url"] is None
    log = wait_final(body["execution_id"])
    assert log.status == "completed" and log.exit_code == 0
    argv = json.loads(log.output)
    assert argv[-2:] == ["--x", "42"]
    assert "--port" in argv  # always passed, even without an interface


def test_nul_characters_in_output_are_recorded_on_every_database(make_script, client_for):
    script = make_script(
        "nul.py", "import sys\nsys.stdout.write('a\\x00b\\n')\n", interface="false"
    )
    log = wait_final(execute(client_for("op_otto"), script).json()["execution_id"])
    assert log.status == "completed"
    assert log.output == "a\ufffdb\n"
    assert b"a\x00b" in _stdout_bytes(log)


def _stdout_bytes(log: ExecutionLog) -> bytes:
    from django.conf import settings

    return (Path(settings.LOGS_DIR) / log.stdout_path).read_bytes()


def test_the_timeout_from_metadata_is_enforced(make_script, client_for):
    script = make_script(
        "slow.py", "import time\ntime.sleep(60)\n", interface="false", execution_timeout=1
    )
    body = execute(client_for("op_otto"), script).json()
    log = wait_final(body["execution_id"])
    assert log.status == "terminated" and log.stop_reason == "timeout"


def test_a_million_lines_are_captured_byte_for_byte(make_script, client_for, settings):
    script = make_script(
        "chatty.py",
        "import sys\nw = sys.stdout.write\n"
        "for i in range(1_000_000):\n    w(f'line {i} of the output\\n')\n",
        interface="false",
    )
    body = execute(client_for("op_otto"), script).json()
    log = wait_final(body["execution_id"], timeout=60)
    assert log.status == "completed"
    expected = "".join(f"line {i} of the output\n" for i in range(1_000_000)).encode()
    captured = (Path(settings.LOGS_DIR) / log.stdout_path).read_bytes()
    assert captured == expected
    assert log.output_truncated and len(log.output.encode()) <= settings.OUTPUT_DB_LIMIT_BYTES
    assert log.output.endswith("line 999999 of the output\n")


def test_interface_limits_answer_429(make_script, client_for, settings):
    settings.MAX_INTERFACES_PER_USER = 1
    script = make_script("web.py", WEB)
    client = client_for("op_otto")
    assert execute(client, script).status_code == 200
    refused = execute(client, script)
    assert refused.status_code == 429 and "limit" in refused.json()["detail"]
    assert execute(client_for("op_olga"), script).status_code == 200
    settings.MAX_CONCURRENT_INTERFACES = 2
    assert execute(client_for("dev_dora"), script).status_code == 429


def test_port_exhaustion_answers_503(make_script, client_for, settings):
    port = free_port()
    settings.PORT_RANGE_START = settings.PORT_RANGE_END = port
    script = make_script("web.py", WEB)
    assert execute(client_for("op_otto"), script).status_code == 200
    refused = execute(client_for("op_olga"), script)
    assert refused.status_code == 503 and "No free port" in refused.json()["detail"]


def test_a_double_forked_child_dies_with_the_script(make_script, client_for, tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    body = f"""
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open({str(pidfile)!r}, "w").write(str(os.getpid()))
        time.sleep(300)
    os._exit(0)
{WEB}
"""
    script = make_script("forker.py", body)
    client = client_for("op_otto")
    response = execute(client, script).json()
    deadline = time.monotonic() + 10
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pidfile.read_text())
    assert psutil.pid_exists(grandchild)
    client.post(f"/api/scripts/{script.pk}/stop", json.dumps({}), content_type="application/json")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    assert (
        not psutil.pid_exists(grandchild)
        or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
    )
    assert ExecutionLog.objects.get(execution_uuid=response["execution_id"]).status == "terminated"


def test_status_and_active_interfaces_are_per_user(make_script, client_for):
    script = make_script("web.py", WEB)
    otto = client_for("op_otto")
    started = execute(otto, script).json()
    assert [i["execution_id"] for i in otto.get("/api/active-interfaces").json()] == [
        started["execution_id"]
    ]
    assert client_for("op_olga").get("/api/active-interfaces").json() == []
    assert len(client_for("ada_admin").get("/api/active-interfaces").json()) == 1
    assert otto.get(f"/api/scripts/{script.pk}/status").json()["status"] == "running"
    other = client_for("op_olga").get(
        f"/api/scripts/{script.pk}/status?execution_id={started['execution_id']}"
    )
    assert other.status_code == 404
    # An admin may stop anyone's interface; the reason says so.
    stopped = client_for("ada_admin").post(
        f"/api/scripts/{script.pk}/stop",
        json.dumps({"execution_id": started["execution_id"]}),
        content_type="application/json",
    )
    assert stopped.json()["stop_reason"] == "admin"


@pytest.mark.parametrize("reason", ["tab_closed", "idle"])
def test_abandoned_interfaces_are_stopped_with_the_reason(
    make_script, client_for, settings, reason
):
    from datetime import timedelta

    from django.utils import timezone

    script = make_script("web.py", WEB)
    body = execute(client_for("op_otto"), script).json()
    process = ScriptProcess.objects.get(execution__execution_uuid=body["execution_id"])
    past = timezone.now() - timedelta(seconds=settings.SESSION_TIMEOUT + 5)
    if reason == "tab_closed":
        ScriptProcess.objects.filter(pk=process.pk).update(
            tab_closed_at=past, last_activity=timezone.now()
        )
    else:
        ScriptProcess.objects.filter(pk=process.pk).update(started_at=past, last_activity=past)
    assert executions_reconcile()["stopped"] == 1
    log = wait_final(body["execution_id"])
    assert log.status == "terminated" and log.stop_reason == reason


def test_a_heartbeat_keeps_the_interface_and_cancels_a_tab_close(make_script, client_for, settings):
    from django.utils import timezone

    script = make_script("web.py", WEB)
    client = client_for("op_otto")
    body = execute(client, script).json()
    process = ScriptProcess.objects.get(execution__execution_uuid=body["execution_id"])
    closed = client.post(f"/interfaces/{process.tab_session_id}/closed")
    assert closed.status_code == 204
    assert ScriptProcess.objects.get(pk=process.pk).tab_closed_at is not None
    ping = client.post(
        f"/api/scripts/{script.pk}/ping-interface",
        json.dumps({"execution_id": body["execution_id"], "active": True}),
        content_type="application/json",
    )
    assert ping.status_code == 200
    assert ping.json()["seconds_until_idle"] >= settings.SESSION_TIMEOUT - 2
    process.refresh_from_db()
    assert process.tab_closed_at is None and process.last_activity <= timezone.now()
    assert executions_reconcile()["stopped"] == 0


def test_the_interface_page_is_for_its_owner_and_admins(make_script, client_for):
    script = make_script("web.py", WEB)
    body = execute(client_for("op_otto"), script).json()
    url = body["interface_url"]
    page = client_for("op_otto").get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'sandbox="allow-scripts allow-forms allow-popups allow-modals allow-downloads"' in html
    assert "allow-same-origin" not in html
    assert "project_default" in html
    assert client_for("op_olga").get(url).status_code == 404
    assert client_for("ada_admin").get(url).status_code == 200


def test_a_busy_script_is_not_stopped_as_idle(make_script, client_for, settings):
    from datetime import timedelta

    from django.utils import timezone

    spin = (
        "import threading\n"
        "threading.Thread(target=lambda: [0 for _ in iter(int, 1)], daemon=True).start()\n"
    )
    busy = WEB.replace('print("listening on"', spin + 'print("listening on"')
    script = make_script("busy.py", busy)
    body = execute(client_for("op_otto"), script).json()
    process = ScriptProcess.objects.get(execution__execution_uuid=body["execution_id"])
    past = timezone.now() - timedelta(seconds=settings.SESSION_TIMEOUT + 5)
    ScriptProcess.objects.filter(pk=process.pk).update(started_at=past, last_activity=past)
    assert executions_reconcile()["stopped"] == 0
    assert ScriptProcess.objects.get(pk=process.pk).status == "running"


def test_direct_access_hands_out_the_local_port(make_script, client_for, settings):
    settings.INTERFACE_ACCESS = "direct"
    script = make_script("web.py", WEB)
    body = execute(client_for("op_otto"), script).json()
    assert body["app_url"] == f"http://127.0.0.1:{body['port']}/"
    with urllib.request.urlopen(body["app_url"], timeout=5) as reply:
        assert json.load(reply)["env"] == "/"


def test_secret_parameters_are_masked_in_every_stored_form(make_script, client_for):
    from logs.services import log_file_path

    script = make_script(
        "secret.py",
        "print('done')\n",
        interface="false",
        parameters=[
            {"name": "token", "type": "password", "required": True},
            {"name": "key", "type": "string", "secret": True},
            {"name": "site", "type": "string"},
        ],
    )
    client = client_for("op_otto")
    body = execute(
        client, script, {"token": "hunter2-TOKEN", "key": "k3y-VALUE", "site": "plant-7"}
    ).json()
    log = wait_final(body["execution_id"])
    assert log.parameters == {"token": "********", "key": "********", "site": "plant-7"}
    stored = [
        log_file_path(log).read_text(),
        client.get(f"/api/logs/execution/{body['execution_id']}").content.decode(),
        client.get(f"/api/logs/execution/{body['execution_id']}/download?format=csv")
        .getvalue()
        .decode(),
        client.get("/api/logs/execution").content.decode(),
    ]
    for text in stored:
        assert "hunter2-TOKEN" not in text and "k3y-VALUE" not in text
    assert "plant-7" in stored[0]
