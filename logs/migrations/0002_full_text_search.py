"""Full-text index over execution output and parameters (SQLite FTS5).

On other databases this migration does nothing; see logs.selectors."""

from django.db import migrations

from logs.fts import fts_create, fts_drop


class Migration(migrations.Migration):
    dependencies = [("logs", "0001_execution_log")]

    operations = [migrations.RunPython(fts_create, fts_drop)]
