"""Full-text index over execution logs on PostgreSQL (a stored tsvector column
with a GIN index, see logs.fts); nothing on SQLite, whose FTS5 table 0002 made."""

from django.db import migrations

from logs.fts import fts_create_postgres, fts_drop_postgres


class Migration(migrations.Migration):
    dependencies = [("logs", "0003_bookmarks_notes_presets")]

    operations = [migrations.RunPython(fts_create_postgres, fts_drop_postgres)]
