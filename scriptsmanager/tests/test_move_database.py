"""Moving an installation from SQLite to PostgreSQL with `manage.py
move_database`: a real SQLite installation in a temporary data folder is moved
into a throw-away PostgreSQL server of this test's own, so the test runs the
same on both passes of the suite (whatever DATABASE_URL the pass set)."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
from django.apps import apps
from django.conf import settings

from scriptsmanager.localservices import PostgresServer

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")
PASSWORD = "moved-but-still-secret-42"

# Run in the source installation: one of everything that is easy to lose in a
# move (translated columns, nested JSON, pickled task results, ids with gaps,
# permissions through content types, a session), printed as JSON.
SEED = r"""
import json
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from django_q.models import Schedule, Task

from accounts.models import AuditEvent, User
from catalog.models import Script, ScriptGroup, UserScriptTags
from execution.models import PortAllocation
from logs.models import ExecutionLog, LogFilterPreset
from projects.models import UserProject
from scriptsmanager.schedules import schedules_ensure

users = {
    name: User.objects.create_user(
        username=name, email=f"{name}@example.com", password=PASSWORD, user_level=level
    )
    for name, level in (("ada", "admin"), ("gone", "viewer"), ("otto", "operator"))
}
users["gone"].delete()
ada, otto = users["ada"], users["otto"]
reviewers = Group.objects.create(name="reviewers")
reviewers.permissions.add(Permission.objects.get(codename="change_script"))
ada.groups.add(reviewers)
otto.user_permissions.add(Permission.objects.get(codename="view_executionlog"))

group = ScriptGroup.objects.create(
    directory_name="lab", name_en="Lab", name_es="Laboratorio", description_fr="Le labo",
    errors=[{"file": "metadata.json", "line": 3, "message": "clé ñ"}],
)
script = Script.objects.create(
    group=group, filename="tool.py", display_name_en="Tool", display_name_it="Strumento",
    parameters=[{"name": "n", "type": "int", "default": 3}],
)
project = UserProject.objects.create(user=otto, group=group, name="project_default")
parameters = {"n": 3, "nested": {"values": [1, 2.5, None, "ü"], "flag": True}}
logs = [
    ExecutionLog.objects.create(
        script=script, script_name="tool.py", user=otto, username="otto", project=project,
        project_name=project.name, status="completed", output=output, parameters=parameters,
    )
    for output in ("turbine calibration finished", "deleted run", "pump check ok\x00")
]
logs[1].delete()
PortAllocation.objects.create(
    port_number=5201, script=script, user=otto, project=project, execution=logs[0],
    status="released", released_at=timezone.now(),
)
LogFilterPreset.objects.create(user=otto, name="mine", filters={"status": "failed"})
UserScriptTags.objects.create(user=otto, script=script, tags=["favourite"])
AuditEvent.objects.create(
    actor=ada, actor_username="ada", action="login", ip_address="10.1.2.3",
    details={"via": "api"},
)
LogEntry.objects.create(
    user=ada, content_type=ContentType.objects.get_for_model(User), object_id=str(otto.pk),
    object_repr="otto", action_flag=CHANGE, change_message="[]",
)
schedules_ensure()
Task.objects.create(
    id="f" * 32, name="seeded", func="math.floor", args=(1.5,), kwargs={},
    result={"answer": 42}, started=timezone.now(), stopped=timezone.now(), success=True,
)
session = SessionStore()
session["note"] = "kept"
session.create()
print(json.dumps({
    "log": str(logs[0].execution_uuid),
    "session": session.session_key,
    "otto": otto.pk,
    "max_ids": {
        "user": User.objects.order_by("-pk")[0].pk,
        "log": ExecutionLog.objects.order_by("-pk")[0].pk,
        "schedule": Schedule.objects.order_by("-pk")[0].pk,
        "group": Group.objects.order_by("-pk")[0].pk,
    },
}))
""".replace("PASSWORD", repr(PASSWORD))

# Run against the moved database.
CHECK = r"""
import json
from django.contrib.admin.models import LogEntry
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django_q.models import Schedule, Task

from accounts.models import User
from catalog.models import Script, ScriptGroup
from logs.models import ExecutionLog
from logs.selectors import logs_filter

seeded = json.loads(SEEDED)
ada = authenticate(username="ada", password=PASSWORD)
everything = ExecutionLog.objects.all()
log = ExecutionLog.objects.get(execution_uuid=seeded["log"])
group = ScriptGroup.objects.get()
script = Script.objects.get()
entry = LogEntry.objects.get()
result = {
    "vendor": connection.vendor,
    "login": ada is not None and ada.user_level,
    "wrong_password": authenticate(username="ada", password="not-it") is None,
    "search": [str(l.execution_uuid) for l in logs_filter(everything, text="turbine calibration")],
    "search_none": [str(l.execution_uuid) for l in logs_filter(everything, text="nowhere")],
    "nul": ExecutionLog.objects.get(output__startswith="pump").output,
    "parameters": log.parameters,
    "group": [group.name_en, group.name_es, group.description_fr, group.errors],
    "script": [script.display_name_en, script.display_name_it, script.parameters],
    "group_perms": sorted(Group.objects.get().permissions.values_list("codename", flat=True)),
    "ada_groups": sorted(ada.groups.values_list("name", flat=True)),
    "otto_perms": sorted(User.objects.get(username="otto").get_user_permissions()),
    "log_entry": [entry.content_type.model_class()._meta.label, entry.get_edited_object().pk],
    "task_result": Task.objects.get().result,
    "task_args": list(Task.objects.get().args),
    "schedules": sorted(Schedule.objects.values_list("name", flat=True)),
    "session": SessionStore(session_key=seeded["session"]).load(),
    "new_ids": {
        "user": User.objects.create_user(
            username="newcomer", email="newcomer@example.com", password=PASSWORD
        ).pk,
        "log": ExecutionLog.objects.create(script_name="x", username="x", project_name="x").pk,
        "schedule": Schedule.objects.create(func="math.floor", name="new").pk,
        "group": Group.objects.create(name="newcomers").pk,
    },
}
print(json.dumps(result))
"""


def _env(data: Path, database_url: str) -> dict[str, str]:
    """An installation whose data folder is `data`, on `database_url` and never
    on whatever database or Redis this pass of the suite uses."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX", "SECRET_KEY")
    }
    env.update(
        BASE_DATA_PATH=str(data),
        DATABASE_URL=database_url,
        REDIS_URL="",
        DJANGO_SETTINGS_MODULE="scriptsmanager.settings",
    )
    return env


def _manage(env: dict[str, str], *arguments: str, check: bool = True):
    result = subprocess.run(
        [sys.executable, MANAGE, *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _sqlite_tables(path: Path) -> dict[str, str]:
    """table -> primary key column, for the application's tables (not SQLite's,
    the migration records' or the FTS5 index and its shadow tables)."""
    with sqlite3.connect(path) as database:
        names = [
            name
            for (name,) in database.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if name != "django_migrations" and not name.startswith("logs_executionlog_fts")
        ]
        return {
            name: next(
                column[1]
                for column in database.execute(f'PRAGMA table_info("{name}")')
                if column[5] == 1
            )
            for name in names
        }


def _contents(query, tables: dict[str, str]) -> dict[str, list[str]]:
    """table -> its primary keys in order: row counts and preserved ids at once."""
    return {
        table: [
            str(key)
            for (key,) in query(f'SELECT "{pk}" FROM "{table}" ORDER BY "{pk}"')  # noqa: S608
        ]
        for table, pk in tables.items()
    }


def test_a_sqlite_installation_moves_to_postgresql_whole(tmp_path):
    data = tmp_path / "data"
    source = _env(data, f"sqlite:///{data / 'scriptsmanager.db'}")
    _manage(source, "migrate", "--noinput")
    seeded = _manage(source, "shell", "-c", SEED).stdout.strip().splitlines()[-1]
    tables = _sqlite_tables(data / "scriptsmanager.db")
    with sqlite3.connect(data / "scriptsmanager.db") as database:
        before = _contents(lambda sql: database.execute(sql).fetchall(), tables)
    assert before["accounts_user"] and len(before["logs_executionlog"]) == 2

    # PostgreSQL refuses to run as root and must reach its folder: not tmp_path.
    folder = Path(tempfile.mkdtemp(prefix="sm-move-"))
    os.chmod(folder, 0o755)  # noqa: S103 - the postgres account must reach its folder
    server = PostgresServer(folder / "pg")
    try:
        server.start()
        server.create_database()
        target = _env(data, server.url)

        moved = _manage(source, "move_database", "--to", server.url)
        reported = {
            apps.get_model(label)._meta.db_table: int(rows)
            for label, rows in re.findall(r"^\s+(\w+\.\w+)\s+(\d+)$", moved.stdout, re.M)
        }
        assert reported == {table: len(keys) for table, keys in before.items()}

        with psycopg.connect(server.url) as database:
            after = _contents(lambda sql: database.execute(sql).fetchall(), tables)
            fts_tables = database.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE 'logs_executionlog_fts%'"
            ).fetchall()
            gin_index = database.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'logs_executionlog_fts'"
            ).fetchone()
        assert after == before
        assert fts_tables == []
        assert "gin" in gin_index[0].lower()

        checked = json.loads(
            _manage(
                target,
                "shell",
                "-c",
                CHECK.replace("SEEDED", repr(seeded)).replace("PASSWORD", repr(PASSWORD)),
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        expected = json.loads(seeded)
        assert checked["vendor"] == "postgresql"
        assert checked["login"] == "admin"
        assert checked["wrong_password"] is True
        assert checked["search"] == [expected["log"]]
        assert checked["search_none"] == []
        assert checked["nul"] == "pump check ok\ufffd"
        assert checked["parameters"] == {
            "n": 3,
            "nested": {"values": [1, 2.5, None, "ü"], "flag": True},
        }
        assert checked["group"] == [
            "Lab",
            "Laboratorio",
            "Le labo",
            [{"file": "metadata.json", "line": 3, "message": "clé ñ"}],
        ]
        assert checked["script"] == [
            "Tool",
            "Strumento",
            [{"name": "n", "type": "int", "default": 3}],
        ]
        assert checked["group_perms"] == ["change_script"]
        assert checked["ada_groups"] == ["reviewers"]
        assert checked["otto_perms"] == ["logs.view_executionlog"]
        assert checked["log_entry"] == ["accounts.User", expected["otto"]]
        assert checked["task_result"] == {"answer": 42}
        assert checked["task_args"] == [1.5]
        assert "catalog-discovery" in checked["schedules"]
        assert checked["session"] == {"note": "kept"}
        for name, new_id in checked["new_ids"].items():
            assert new_id > expected["max_ids"][name], (name, new_id)

        # A second move into the now used database is refused and changes nothing.
        with psycopg.connect(server.url) as database:
            used = _contents(lambda sql: database.execute(sql).fetchall(), tables)
        refused = _manage(source, "move_database", "--to", server.url, check=False)
        assert refused.returncode != 0
        assert "already holds data" in refused.stderr and "--force" in refused.stderr
        assert "Traceback" not in refused.stderr
        with psycopg.connect(server.url) as database:
            assert _contents(lambda sql: database.execute(sql).fetchall(), tables) == used
        assert used != before

        # With --force it is replaced by the source again.
        _manage(source, "move_database", "--to", server.url, "--force")
        with psycopg.connect(server.url) as database:
            assert _contents(lambda sql: database.execute(sql).fetchall(), tables) == before
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # The source was only read.
    with sqlite3.connect(data / "scriptsmanager.db") as database:
        assert _contents(lambda sql: database.execute(sql).fetchall(), tables) == before
