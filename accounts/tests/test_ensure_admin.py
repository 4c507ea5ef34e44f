import re
import subprocess
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from accounts.models import AuditEvent, User


def run(monkeypatch, password=None) -> str:
    if password is None:
        monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("ADMIN_PASSWORD", password)
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_first_start_creates_admin_with_a_random_password_shown_once(db, monkeypatch):
    output = run(monkeypatch)
    password = re.search(r"password: (\S+)", output)[1]
    admin = User.objects.get(username="admin")
    assert admin.user_level == "admin" and admin.is_staff
    assert admin.check_password(password)
    assert len(password) >= 12
    assert AuditEvent.objects.filter(action="user_created", target_repr="admin").exists()

    second = run(monkeypatch)
    assert "password" not in second
    assert User.objects.filter(user_level="admin").count() == 1
    admin.refresh_from_db()
    assert admin.check_password(password)


def test_two_installs_get_different_passwords(db, monkeypatch):
    first = re.search(r"password: (\S+)", run(monkeypatch))[1]
    User.objects.all().delete()
    second = re.search(r"password: (\S+)", run(monkeypatch))[1]
    assert first != second


def test_admin_password_comes_from_the_environment_and_is_not_printed(db, monkeypatch):
    output = run(monkeypatch, password="from-the-env-123")
    assert "from-the-env-123" not in output
    assert User.objects.get(username="admin").check_password("from-the-env-123")


def test_an_existing_admin_level_user_means_no_new_admin(personas, monkeypatch):
    assert "nothing to do" in run(monkeypatch)
    assert not User.objects.filter(username="admin").exists()


def test_no_default_password_exists_in_the_code():
    tracked = subprocess.run(
        ["git", "ls-files", "*.py", "*.sh", "*.md", "*.html", "*.example", "bin/*"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    spec_default = "admin" + "123"  # the specification's example default, split so this file passes
    for name in tracked:
        text = Path(settings.BASE_DIR, name).read_text(errors="ignore")
        assert spec_default not in text, name
        assert not re.search(r"ADMIN_PASSWORD\s*=\s*['\"]\w", text), name
