"""The SQLite FTS5 index over execution logs, shared by the migrations that
create it and those that must re-create it: SQLite rebuilds a table when a
column is added, and the triggers go with the old table. Any later migration
that alters logs_executionlog must end with RunPython(fts_create, fts_drop)."""

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


def fts_create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in DROP:
        schema_editor.execute(statement)
    for statement in CREATE:
        schema_editor.execute(statement)


def fts_drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement)
