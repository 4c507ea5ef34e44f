"""The full-text index over execution logs.

SQLite: an FTS5 table kept by triggers, shared by the migrations that create it
and those that must re-create it: SQLite rebuilds a table when a column is
added, and the triggers go with the old table. Any later migration that alters
logs_executionlog must end with RunPython(fts_create, fts_drop).

PostgreSQL: a stored generated tsvector column, `search_document`, unknown to
the model (the database fills it on every write), with a GIN index. A stored
column rather than an expression index: the planner then has statistics on its
words, and checking a row costs no re-parse of its output, so a common word
is answered by walking the newest logs and a rare one through the index. Each
column is cut before it is indexed because a tsvector is limited to 1 MB and
the stored output may reach OUTPUT_DB_LIMIT_BYTES per stream.
"""

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


PG_COLUMN = "search_document"
PG_DOCUMENT = (
    "to_tsvector('simple'::regconfig, "
    "left(coalesce(output, ''), 262144) || ' ' || "
    "left(coalesce(error_output, ''), 131072) || ' ' || "
    "left(coalesce(parameters::text, ''), 65536) || ' ' || "
    "coalesce(script_name, ''))"
)
PG_INDEX = "logs_executionlog_fts"


def fts_create_postgres(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE logs_executionlog ADD COLUMN IF NOT EXISTS {PG_COLUMN} tsvector "
            f"GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED"
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON logs_executionlog USING GIN ({PG_COLUMN})"
        )


def fts_drop_postgres(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
        schema_editor.execute(f"ALTER TABLE logs_executionlog DROP COLUMN IF EXISTS {PG_COLUMN}")


def fts_create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        fts_create_postgres(apps, schema_editor)
        return
    for statement in DROP:
        schema_editor.execute(statement)
    for statement in CREATE:
        schema_editor.execute(statement)


def fts_drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement)
