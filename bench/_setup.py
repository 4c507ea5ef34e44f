"""Shared set-up for benchmarks that call the manager's services in-process:
a throw-away data folder and scripts folder, migrated, with one operator."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.mkdtemp(prefix="sm-bench-"))


def django_setup(scripts: dict[str, str]) -> Path:
    """Write `scripts` ({"group/name.py": source}) and set Django up on them."""
    sys.path.insert(0, str(ROOT))
    os.environ["BASE_DATA_PATH"] = str(WORK / "data")
    os.environ["SCRIPT_GROUPS_DIR"] = str(WORK / "script_groups")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptsmanager.settings")
    for relative, source in scripts.items():
        path = WORK / "script_groups" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("discover", verbosity=0)
    return WORK


def operator():
    from accounts.models import User

    user, _ = User.objects.get_or_create(
        username="bench", defaults={"email": "bench@example.com", "user_level": "operator"}
    )
    return user
