"""The database part of a system backup: a consistent copy taken while the
application runs (SQLite's online backup API, or pg_dump), and its restore.

PostgreSQL tools are run from an argument list, never through a shell; the
password reaches them through PGPASSWORD, never on the command line.
"""

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _


class DatabaseToolError(Exception):
    """A database copy or restore failed; the message names the cause."""


def sqlite_copy(source: Path, destination: Path) -> None:
    """Copy the live SQLite database `source` into the new file `destination`.

    The copy is one consistent snapshot even while other processes write, and
    is a standalone file (rollback journal, not WAL) checked with quick_check.
    """
    if not source.is_file():
        raise DatabaseToolError(
            _("The SQLite database %(path)s does not exist.") % {"path": source}
        )
    # mode=ro: a missing or mistyped path must fail, not create an empty database.
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
    except sqlite3.Error as error:
        raise DatabaseToolError(
            _("Copying the SQLite database failed: %(error)s") % {"error": error}
        ) from error
    finally:
        src.close()
    if check != "ok":
        raise DatabaseToolError(
            _("The copy of the SQLite database is damaged: %(check)s") % {"check": check}
        )


def sqlite_restore(source: Path, live: Path) -> None:
    """Replace the content of the live database `live` with the copy `source`.

    Goes through the backup API, so the live file keeps its journal mode and
    other open connections see the new content instead of a swapped-out file.
    """
    src = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(live, timeout=60)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as error:
        raise DatabaseToolError(
            _("Restoring the SQLite database failed: %(error)s") % {"error": error}
        ) from error
    finally:
        src.close()


def postgres_command(
    tool: str, settings_dict: dict[str, Any], *arguments: str
) -> tuple[list[str], dict[str, str]]:
    """The argv and environment to run a PostgreSQL client `tool` (pg_dump,
    pg_restore, createdb, ...) against the server of `settings_dict`, the
    connection settings of a Django database. `arguments` go last."""
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    options = settings_dict.get("OPTIONS") or {}
    if options.get("sslmode"):
        env["PGSSLMODE"] = str(options["sslmode"])
    argv = [tool, "--no-password"]
    if settings_dict.get("HOST"):
        argv += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        argv += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        argv += ["--username", str(settings_dict["USER"])]
    return [*argv, *arguments], env


def _run(argv: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DatabaseToolError(
            _("%(tool)s was not found: install the PostgreSQL client tools.") % {"tool": argv[0]}
        ) from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise DatabaseToolError(
            _("%(tool)s failed (exit code %(code)s): %(error)s")
            % {"tool": argv[0], "code": done.returncode, "error": " ".join(lines[-3:])}
        )


def postgres_dump(settings_dict: dict[str, Any], destination: Path) -> None:
    """Dump the database to `destination` in pg_dump's custom format."""
    argv, env = postgres_command(
        "pg_dump",
        settings_dict,
        "--format=custom",
        "--file",
        str(destination),
        "--dbname",
        str(settings_dict["NAME"]),
    )
    _run(argv, env)


def postgres_restore(settings_dict: dict[str, Any], dump: Path) -> None:
    """Replace the configured database's objects with those of `dump`, in one
    transaction: on any error the database is left as it was."""
    argv, env = postgres_command(
        "pg_restore",
        settings_dict,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        "--dbname",
        str(settings_dict["NAME"]),
        str(dump),
    )
    # A running application holding a lock must make the restore fail with a
    # message, not wait for ever.
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout=60000".strip()
    _run(argv, env)
