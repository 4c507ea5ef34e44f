"""The running application notices new, changed and removed scripts by itself."""

import time

import pytest

from scriptsmanager.testing import ApiSession, running_app

WAIT = 15.0  # generous for a loaded CI machine; bench/discovery.py measures the real delay


def wait_for(predicate, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("the change did not show up")


@pytest.fixture(scope="module")
def watched_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("watched") / "script_groups"
    (root / "lab").mkdir(parents=True)
    (root / "lab" / "first.py").write_text('"""\n@description: First\n"""\n')
    data = tmp_path_factory.mktemp("watched-data")
    with running_app(data, extra_env={"SCRIPT_GROUPS_DIR": str(root)}) as url:
        session = ApiSession(url)
        assert session.login("ada_admin")[0] == 200
        yield session, root


def scripts_of(session, group_name="lab"):
    status, groups = session.request("GET", "/api/script-groups")
    group = next((g for g in groups if g["directory_name"] == group_name), None)
    if group is None:
        return None
    return {
        s["filename"]: s
        for s in session.request("GET", f"/api/script-groups/{group['id']}/scripts")[1]
    }


def test_the_watcher_sees_files_added_changed_and_removed(watched_app):
    session, root = watched_app
    assert wait_for(lambda: scripts_of(session) and "first.py" in scripts_of(session))

    (root / "lab" / "second.py").write_text('"""\n@description: Second\n"""\n')
    wait_for(lambda: "second.py" in (scripts_of(session) or {}))

    (root / "lab" / "second.py").write_text('"""\n@description: Second, revised\n"""\n')
    wait_for(
        lambda: (
            (scripts_of(session) or {}).get("second.py", {}).get("description") == "Second, revised"
        )
    )

    (root / "lab" / "second.py").unlink()
    wait_for(lambda: "second.py" not in (scripts_of(session) or {"second.py": 1}))


def test_the_watcher_sees_a_new_group_folder(watched_app):
    session, root = watched_app
    (root / "newgroup").mkdir()
    (root / "newgroup" / "tool.py").write_text("print('x')\n")
    wait_for(lambda: "tool.py" in (scripts_of(session, "newgroup") or {}))
