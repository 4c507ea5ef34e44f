import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection

from backups.database import postgres_command

# name -> content; what a data folder typically holds, plus names that test
# the archive's encoding (non-ASCII, spaces, empty files).
DATA_FILES = {
    "secret_key": b"test-only-key-" + b"0123456789abcdef" * 4,
    "script_groups/lab/op_otto/project_default/results.json": b'{"rate": 0.97}\n',
    "script_groups/lab/op_otto/project_default/raw/capture.bin": bytes(range(256)) * 64,
    "script_groups/lab/op_olga/Line 3 audit/notes.txt": "Überprüfung: ok\n".encode(),
    "logs/executions/op_otto/2024-05-01/execution_1.log": b"line 1\nline 2\n",
    "backups/user_op_otto_project_default_20240501_020000.zip": b"PK\x05\x06" + b"\0" * 18,
    "empty.txt": b"",
}
EXCLUDED_FILES = {
    "scratch.tmp": b"temporary",
    "script_groups/lab/__pycache__/helper.cpython-312.pyc": b"\x00bytecode",
    "script_groups/lab/helper.pyc": b"\x00bytecode",
}


@pytest.fixture(autouse=True)
def backup_settings(settings, tmp_path):
    """Every backup test gets its own data folder and backup folder."""
    settings.BASE_DATA_PATH = tmp_path / "data"
    settings.BACKUP_PATH = tmp_path / "backup"
    settings.BACKUP_ENABLED = True
    settings.BACKUP_SCHEDULE_TIME = "02:00"
    settings.BACKUP_RETENTION_DAYS = 30
    settings.BACKUP_EXCLUDE_PATTERNS = ["*.tmp", "__pycache__", "*.pyc"]
    settings.BACKUP_MAX_SIZE_GB = 10.0
    settings.BASE_DATA_PATH.mkdir()
    return settings


@pytest.fixture
def data(backup_settings) -> Path:
    """The data folder, filled with DATA_FILES, EXCLUDED_FILES and an empty folder."""
    root = Path(backup_settings.BASE_DATA_PATH)
    for name, content in {**DATA_FILES, **EXCLUDED_FILES}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (root / "script_groups" / "lab" / "empty folder").mkdir(parents=True)
    return root


def tree_files(root: Path) -> dict[str, bytes]:
    """Every regular file under `root`: relative path -> content."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def postgres_run(tool: str, *arguments: str) -> subprocess.CompletedProcess:
    argv, env = postgres_command(tool, connection.settings_dict, *arguments)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done


def postgres_connect(dbname: str) -> psycopg.Connection:
    params = connection.settings_dict
    return psycopg.connect(
        dbname=dbname,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        autocommit=True,
    )


def manage(*arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `manage.py <arguments>` in a new process, on this test's data and
    backup folders and on the test database (whose rows must be committed)."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{params['NAME']}"
    else:
        credentials = quote(params["USER"] or "", safe="")
        if params["PASSWORD"]:
            credentials += ":" + quote(params["PASSWORD"], safe="")
        host = params["HOST"] or ""
        port = f":{params['PORT']}" if params["PORT"] else ""
        database_url = f"postgres://{credentials}@{host}{port}/{params['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scriptsmanager.settings",
        "DATABASE_URL": database_url,
        "BASE_DATA_PATH": str(django_settings.BASE_DATA_PATH),
        "BACKUP_PATH": str(django_settings.BACKUP_PATH),
        "BACKUP_EXCLUDE_PATTERNS": ",".join(django_settings.BACKUP_EXCLUDE_PATTERNS),
        "BACKUP_MAX_SIZE_GB": str(django_settings.BACKUP_MAX_SIZE_GB),
        "TIME_ZONE": django_settings.TIME_ZONE,
    }
    return subprocess.run(
        [sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py"), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
