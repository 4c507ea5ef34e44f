"""HSTS on HTTPS, no caching of API answers, and `check --deploy` clean with the
production template but for the warnings docs/deployment.md explains."""

import json
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE = Path(settings.BASE_DIR)
TEMPLATE = BASE / "deploy" / "scriptsmanager.env.example"
# Each one is explained in docs/deployment.md, section 1.
INTENDED_DEPLOY_WARNINGS = {"security.W005", "security.W008", "security.W019", "security.W021"}


def _template_env(tmp_path: Path) -> dict[str, str]:
    """The environment the systemd units give the application: the template's
    values (its secrets filled in), with a throw-away data folder."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    for line in TEMPLATE.read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            env[match[1]] = match[2]
    env["BASE_DATA_PATH"] = str(tmp_path / "data")
    env["BACKUP_PATH"] = str(tmp_path / "backup")
    return env


def _manage(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BASE / "manage.py"), *arguments],
        env=env,
        cwd=BASE,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_with_the_production_template_reports_only_the_intended_warnings(tmp_path):
    result = _manage(_template_env(tmp_path), "check", "--deploy")
    assert result.returncode == 0, result.stderr
    reported = set(re.findall(r"\((\w+\.[EW]\d+)\)", result.stdout + result.stderr))
    assert reported == INTENDED_DEPLOY_WARNINGS, result.stdout + result.stderr
    deployment = (BASE / "docs" / "deployment.md").read_text()
    for warning in INTENDED_DEPLOY_WARNINGS:
        assert warning in deployment, f"{warning} is not explained in docs/deployment.md"


def test_https_answers_carry_hsts_with_the_production_template(tmp_path):
    probe = (
        "import json\n"
        "from django.test import Client\n"
        "client = Client(HTTP_HOST='scripts.example.com', HTTP_X_FORWARDED_PROTO='https')\n"
        "secure = client.get('/accounts/login/')\n"
        "plain = Client(HTTP_HOST='scripts.example.com').get('/accounts/login/')\n"
        "print(json.dumps([secure.status_code, secure.headers.get('Strict-Transport-Security'),"
        " plain.headers.get('Strict-Transport-Security')]))\n"
    )
    result = _manage(_template_env(tmp_path), "shell", "-c", probe)
    assert result.returncode == 0, result.stderr
    status, secure, plain = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 200
    assert secure == "max-age=31536000"
    assert plain is None  # never over plain HTTP, where it would mean nothing


def test_hsts_is_off_by_default_for_the_plain_http_embedded_set_up():
    # The test settings are the embedded defaults: SECURE_COOKIES=false.
    assert settings.SECURE_HSTS_SECONDS == 0


def test_nginx_sends_hsts_once_on_every_https_answer():
    conf = (BASE / "deploy" / "nginx" / "scriptsmanager.conf").read_text()
    https = conf[conf.index("listen 443") :]
    assert 'add_header Strict-Transport-Security "max-age=31536000" always;' in https
    # The application's own header is dropped, so a browser never gets two.
    assert "proxy_hide_header Strict-Transport-Security;" in https
    # An add_header inside a location would silently drop the server-wide one there.
    assert https.count("add_header") == 1


def test_api_json_answers_are_not_stored_by_caches(client_for):
    client = client_for("op_otto")
    for response in (
        client.get("/api/script-groups"),
        client.get("/api/auth/user"),
        client.get("/api/scripts/999999/metadata"),  # an error body too
        client.get("/api/script-groups/1/refresh"),  # and a refused method
    ):
        assert response.headers.get("Cache-Control") == "no-store", response.request["PATH_INFO"]
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")
