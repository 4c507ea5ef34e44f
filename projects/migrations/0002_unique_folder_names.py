"""Data and log folders move from `<name>` to `<name>-<id>`: before, "op1" and
"op1." shared one folder. Files only; no schema change. See
projects.services_folders.folders_upgrade (it refuses while scripts run)."""

from django.db import migrations


def folders_rename(apps, schema_editor):
    from projects.services_folders import folders_upgrade

    folders_upgrade(apps=apps, say=print)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_user_projects"),
        ("logs", "0001_execution_log"),
        ("execution", "0001_ports_and_processes"),
    ]

    operations = [migrations.RunPython(folders_rename, migrations.RunPython.noop)]
