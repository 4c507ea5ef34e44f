"""The Content-Security-Policy header itself, and the templates it needs: no
inline script, style or event handler anywhere (the browser test,
test_browser_csp.py, proves the pages work under it)."""

import json
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE = Path(settings.BASE_DIR)


def _directives(policy: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


def test_pages_and_the_login_page_send_the_strict_policy(client_for, client):
    for response in (client.get("/accounts/login/"), client_for("op_otto").get("/")):
        assert response.status_code == 200
        policy = _directives(response.headers["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["img-src"] == ["'self'", "data:"]
        assert policy["frame-src"] == ["'self'"]
        assert policy["frame-ancestors"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'self'"]
        assert policy["form-action"] == ["'self'"]


def test_direct_interfaces_may_be_framed_from_their_loopback_ports_only(tmp_path):
    probe = "from django.conf import settings; import json; print(json.dumps(settings.SECURE_CSP))"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BASE_DATA_PATH": str(tmp_path / "data"),
        "INTERFACE_ACCESS": "direct",
        "PORT_RANGE_START": "5200",
        "PORT_RANGE_END": "5202",
    }
    result = subprocess.run(
        [sys.executable, str(BASE / "manage.py"), "shell", "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    policy = json.loads(result.stdout.strip().splitlines()[-1])
    assert policy["frame-src"] == [
        "'self'",
        "http://127.0.0.1:5200",
        "http://127.0.0.1:5201",
        "http://127.0.0.1:5202",
    ]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I), "script"),
    (re.compile(r"<style\b", re.I), "style element"),
    (re.compile(r"\sstyle=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_holds_inline_code_the_policy_would_block():
    found = []
    for template in sorted((BASE / "templates").rglob("*.html")):
        text = template.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(BASE)}:{line}: {what}")
    assert found == []
