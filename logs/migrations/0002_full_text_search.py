"""Full-text index over execution output and parameters (SQLite FTS5).

On other databases this migration does nothing; PostgreSQL search comes with
its own index (see logs.selectors)."""

from django.db import migrations

COLUMNS = "output, error_output, parameters, script_name"

CREATE = [
    f"CREATE VIRTUAL TABLE logs_executionlog_fts USING fts5({COLUMNS}, "
    "content='logs_executionlog', content_rowid='id')",
    f"""CREATE TRIGGER logs_executionlog_fts_insert AFTER INSERT ON logs_executionlog BEGIN
        INSERT INTO logs_executionlog_fts(rowid, {COLUMNS})
        VALUES (new.id, new.output, new.error_output, new.parameters, new.script_name);
    END""",
    f"""CREATE TRIGGER logs_executionlog_fts_delete AFTER DELETE ON logs_executionlog BEGIN
        INSERT INTO logs_executionlog_fts(logs_executionlog_fts, rowid, {COLUMNS})
        VALUES ('delete', old.id, old.output, old.error_output, old.parameters, old.script_name);
    END""",
    f"""CREATE TRIGGER logs_executionlog_fts_update AFTER UPDATE ON logs_executionlog BEGIN
        INSERT INTO logs_executionlog_fts(logs_executionlog_fts, rowid, {COLUMNS})
        VALUES ('delete', old.id, old.output, old.error_output, old.parameters, old.script_name);
        INSERT INTO logs_executionlog_fts(rowid, {COLUMNS})
        VALUES (new.id, new.output, new.error_output, new.parameters, new.script_name);
    END""",
    "INSERT INTO logs_executionlog_fts(logs_executionlog_fts) VALUES ('rebuild')",
]
DROP = [
    "DROP TRIGGER IF EXISTS logs_executionlog_fts_insert",
    "DROP TRIGGER IF EXISTS logs_executionlog_fts_delete",
    "DROP TRIGGER IF EXISTS logs_executionlog_fts_update",
    "DROP TABLE IF EXISTS logs_executionlog_fts",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("logs", "0001_execution_log")]

    operations = [migrations.RunPython(create, drop)]
