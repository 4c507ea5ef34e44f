"""A manager killed with SIGKILL and started again picks its scripts back up."""

import os
import signal
import time
from pathlib import Path

import psutil

from scriptsmanager.testing import ApiSession, app_database_query, running_app

COUNTER = '''"""
@required_level: viewer
@interface: false
"""
import sys, time
for i in range(100000):
    print(i, flush=True)
    time.sleep(0.05)
'''


def kill_manager(app) -> None:
    """SIGKILL the app and its helpers, sparing the scripts (runners lead their own sessions)."""
    root = psutil.Process(app.process.pid)
    session = os.getsid(root.pid)
    victims = [root, *(p for p in root.children(recursive=True) if os.getsid(p.pid) == session)]
    for victim in victims:
        victim.send_signal(signal.SIGKILL)
    psutil.wait_procs(victims, timeout=10)


def test_a_killed_manager_readopts_a_running_script_and_loses_no_output(tmp_path):
    scripts = tmp_path / "script_groups"
    (scripts / "lab").mkdir(parents=True)
    (scripts / "lab" / "counter.py").write_text(COUNTER)
    data = tmp_path / "data"
    env = {"SCRIPT_GROUPS_DIR": str(scripts)}
    with running_app(data, extra_env=env) as app:
        session = ApiSession(app)
        assert session.login("op_otto")[0] == 200
        groups = session.request("GET", "/api/script-groups")[1]
        script_id = session.request("GET", f"/api/script-groups/{groups[0]['id']}/scripts")[1][0][
            "id"
        ]
        status, started = session.request(
            "POST", f"/api/scripts/{script_id}/execute", {"parameters": {}}
        )
        assert status == 200, started
        time.sleep(1.0)
        kill_manager(app)

    runner_pid = app_database_query(data, "SELECT runner_pid FROM execution_scriptprocess")[0][0]
    assert psutil.pid_exists(runner_pid), "the script died with the manager"
    time.sleep(0.5)

    with running_app(data, extra_env=env) as app:
        session = ApiSession(app)
        session.login("op_otto")
        time.sleep(2.0)  # the new supervisor runs several passes meanwhile
        status, body = session.request("GET", f"/api/scripts/{script_id}/status")
        assert body["status"] == "running", "a live script was not re-adopted"
        status, stopped = session.request(
            "POST", f"/api/scripts/{script_id}/stop", {"execution_id": started["execution_id"]}
        )
        assert (
            status == 200 and stopped["status"] == "terminated" and stopped["stop_reason"] == "user"
        )

    stdout = next(Path(data, "logs", "executions").rglob("*.stdout.log")).read_text().split()
    assert len(stdout) > 40
    assert stdout == [str(i) for i in range(len(stdout))]  # nothing lost around the restart
    assert (
        not psutil.pid_exists(runner_pid)
        or psutil.Process(runner_pid).status() == psutil.STATUS_ZOMBIE
    )


def test_a_script_that_died_while_the_manager_was_down_is_marked_lost_or_finished(tmp_path):
    scripts = tmp_path / "script_groups"
    (scripts / "lab").mkdir(parents=True)
    (scripts / "lab" / "counter.py").write_text(COUNTER)
    data = tmp_path / "data"
    env = {"SCRIPT_GROUPS_DIR": str(scripts)}
    with running_app(data, extra_env=env) as app:
        session = ApiSession(app)
        session.login("op_otto")
        groups = session.request("GET", "/api/script-groups")[1]
        script_id = session.request("GET", f"/api/script-groups/{groups[0]['id']}/scripts")[1][0][
            "id"
        ]
        started = session.request("POST", f"/api/scripts/{script_id}/execute", {"parameters": {}})[
            1
        ]
        time.sleep(0.5)
        kill_manager(app)
    runner_pid = app_database_query(data, "SELECT runner_pid FROM execution_scriptprocess")[0][0]
    script = psutil.Process(runner_pid).children()[0]
    os.kill(runner_pid, signal.SIGKILL)  # the runner dies without writing its exit file
    with running_app(data, extra_env=env) as app:
        session = ApiSession(app)
        session.login("op_otto")
        deadline = time.monotonic() + 15
        body = {}
        while time.monotonic() < deadline:
            body = session.request(
                "GET", f"/api/scripts/{script_id}/status?execution_id={started['execution_id']}"
            )[1]
            if body["status"] != "running":
                break
            time.sleep(0.2)
        assert body["status"] == "lost" and body["stop_reason"] == "lost"
        assert body["output_tail"].split()[:3] == ["0", "1", "2"]
    # The orphaned script is not left running either.
    assert not script.is_running() or script.status() == psutil.STATUS_ZOMBIE
