"""The deployment files in deploy/ agree with the application: settings that
exist, manage.py commands and options that parse, one port and one data
folder across the systemd units, the environment template and nginx."""

import re
import shlex
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class

from scriptsmanager.management.commands.serve import COMPONENTS

BASE = Path(settings.BASE_DIR)
DEPLOY = BASE / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
APP_ROOT = "/opt/scriptsmanager"
PYTHON = f"{APP_ROOT}/.venv/bin/python"
MANAGE = f"{APP_ROOT}/manage.py"
ENV_FILE = "/etc/scriptsmanager/scriptsmanager.env"


def _assignments(path: Path) -> dict[str, str]:
    """NAME -> value of every `NAME=value` line, commented out or not."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found[match[1]] = match[2]
    return found


def _unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """section -> key -> values of a systemd unit (a key may repeat: ExecStart=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            sections.setdefault(section, {})
            continue
        key, _, value = line.partition("=")
        sections[section].setdefault(key, []).append(value)
    return sections


def _value(unit: dict, section: str, key: str, default: str | None = None) -> str | None:
    values = unit.get(section, {}).get(key)
    return values[-1] if values else default


def _manage_commands(unit: dict) -> list[list[str]]:
    commands = []
    for line in unit["Service"]["ExecStart"]:
        argv = shlex.split(line)
        assert argv[:2] == [PYTHON, MANAGE], line
        commands.append(argv[2:])
    return commands


def test_the_environment_template_sets_only_documented_settings():
    template = _assignments(DEPLOY / "scriptsmanager.env.example")
    documented = _assignments(BASE / ".env.example")
    assert template, "no settings found: the test itself is broken"
    assert set(template) - set(documented) == set()


@pytest.mark.parametrize("unit_path", UNITS, ids=lambda p: p.name)
def test_each_unit_runs_existing_commands_with_options_that_parse(unit_path):
    unit = _unit(unit_path)
    assert _value(unit, "Service", "EnvironmentFile") == ENV_FILE
    assert _value(unit, "Service", "WorkingDirectory") == APP_ROOT
    assert _value(unit, "Service", "User") == "scriptsmanager"
    available = get_commands()
    for name, *arguments in _manage_commands(unit):
        assert name in available, f"{unit_path.name}: no manage.py command {name!r}"
        command = load_command_class(available[name], name)
        # Raises CommandError on an unknown option or a bad value.
        options = command.create_parser("manage.py", name).parse_args(arguments)
        if name == "serve":
            chosen = set(options.only.split(","))
            assert chosen <= set(COMPONENTS), options.only


def test_the_units_together_run_every_component_once():
    components = []
    for unit_path in UNITS:
        for name, *arguments in _manage_commands(_unit(unit_path)):
            if name == "serve":
                components += arguments[arguments.index("--only") + 1].split(",")
    assert sorted(components) == sorted(COMPONENTS)


def test_the_web_and_jobs_units_start_after_the_one_shot_migration():
    migrate = _unit(DEPLOY / "systemd" / "scriptsmanager-migrate.service")
    assert _value(migrate, "Service", "Type") == "oneshot"
    assert [argv[0] for argv in _manage_commands(migrate)] == [
        "migrate",
        "ensure_admin",
        "collectstatic",
        "discover",
    ]
    target = (DEPLOY / "systemd" / "scriptsmanager.target").read_text()
    for name in ("web", "jobs"):
        unit = _unit(DEPLOY / "systemd" / f"scriptsmanager-{name}.service")
        assert _value(unit, "Unit", "Requires") == "scriptsmanager-migrate.service"
        assert "scriptsmanager-migrate.service" in _value(unit, "Unit", "After").split()
        assert _value(unit, "Unit", "PartOf") == "scriptsmanager.target"
        assert f"scriptsmanager-{name}.service" in target


def test_running_scripts_outlive_a_restart_of_the_unit_that_started_them():
    web = _unit(DEPLOY / "systemd" / "scriptsmanager-web.service")
    # The web workers start the runners: only `serve` itself may be signalled,
    # and no private /tmp may be emptied under the scripts.
    assert _value(web, "Service", "KillMode") == "process"
    assert _value(web, "Service", "PrivateTmp", "no") == "no"
    jobs = _unit(DEPLOY / "systemd" / "scriptsmanager-jobs.service")
    assert _value(jobs, "Service", "KillMode") == "mixed"


def test_the_units_may_write_the_data_and_backup_folders_of_the_template():
    template = _assignments(DEPLOY / "scriptsmanager.env.example")
    for unit_path in UNITS:
        writable = [
            path.lstrip("-")
            for line in _unit(unit_path)["Service"].get("ReadWritePaths", [])
            for path in line.split()
        ]
        for folder in (template["BASE_DATA_PATH"], template["BACKUP_PATH"]):
            assert any(folder == path or folder.startswith(path + "/") for path in writable), (
                f"{unit_path.name} cannot write {folder}"
            )


def test_the_units_create_files_for_the_service_account_only():
    for unit_path in UNITS:
        assert _value(_unit(unit_path), "Service", "UMask") == "0077", unit_path.name


def test_nginx_matches_the_web_unit_and_the_settings():
    conf = (DEPLOY / "nginx" / "scriptsmanager.conf").read_text()
    web = _unit(DEPLOY / "systemd" / "scriptsmanager-web.service")
    ((_, *serve_arguments),) = _manage_commands(web)
    host = serve_arguments[serve_arguments.index("--host") + 1]
    port = serve_arguments[serve_arguments.index("--port") + 1]
    assert re.search(rf"upstream scriptsmanager \{{\s*server {host}:{port};", conf)

    # The body limits are the application's defaults, per location (checked below).
    documented = _assignments(BASE / ".env.example")
    limit = re.search(r"^    client_max_body_size (\d+)m;", conf, re.M)
    assert int(limit[1]) * 1024 * 1024 == int(documented["REQUEST_BODY_MAX_BYTES"])

    # WebSocket upgrades reach the app, for every location.
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "proxy_http_version 1.1;" in conf
    for prefix in ("/ws/", "/interfaces/"):
        block = re.search(rf"location {re.escape(prefix)} \{{(.*?)\n    \}}", conf, re.S)[1]
        assert "proxy_buffering off;" in block
        assert "proxy_read_timeout 1h;" in block

    # PROXY_HEADERS=true trusts exactly these.
    assert _assignments(DEPLOY / "scriptsmanager.env.example")["PROXY_HEADERS"] == "true"
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf

    # Static files straight from STATIC_ROOT of the template's data folder.
    data = _assignments(DEPLOY / "scriptsmanager.env.example")["BASE_DATA_PATH"]
    static_root = Path(settings.STATIC_ROOT).relative_to(settings.BASE_DATA_PATH)
    static_url = "/" + settings.STATIC_URL.strip("/") + "/"
    assert f"location {static_url} {{\n        alias {data}/{static_root}/;" in conf


def _size(value: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024, "g": 1024 * 1024 * 1024}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def test_nginx_limits_each_locations_bodies_as_the_application_does():
    conf = (DEPLOY / "nginx" / "scriptsmanager.conf").read_text()
    documented = _assignments(BASE / ".env.example")
    blocks = dict(re.findall(r"\n    location (.*?) \{(.*?)\n    \}", conf, re.S))
    limits = {
        location: _size(found[1])
        for location, block in blocks.items()
        if (found := re.search(r"client_max_body_size (\w+);", block))
    }
    assert limits == {
        "/interfaces/": int(documented["INTERFACE_BODY_MAX_BYTES"]),
        "= /accounts/login/": int(documented["ANONYMOUS_BODY_MAX_BYTES"]),
        "= /api/auth/login": int(documented["ANONYMOUS_BODY_MAX_BYTES"]),
    }
    # The settings' own defaults agree with the documented ones.
    for name in ("INTERFACE_BODY_MAX_BYTES", "ANONYMOUS_BODY_MAX_BYTES", "REQUEST_BODY_MAX_BYTES"):
        assert (name, getattr(settings, name)) == (name, int(documented[name]))


def test_nginx_logs_no_interface_token():
    conf = (DEPLOY / "nginx" / "scriptsmanager.conf").read_text()
    (log_format,) = re.findall(r"log_format scriptsmanager (.*?);", conf, re.S)
    for raw in ("$request ", '$request"', "$request_uri", "$uri", "$http_referer", "$args"):
        assert raw not in log_format, raw
    assert re.search(r"access_log \S+ scriptsmanager;", conf)
    # The maps, read as nginx does (PCRE named groups), mask the token's segment.
    maps = {
        name: (pattern, value)
        for name, pattern, value in re.findall(
            r'map \$\w+ \$(\w+) \{\s*"~(.*?)" "(.*?)";', conf, re.S
        )
    }
    uri_pattern, uri_value = maps["scriptsmanager_logged_uri"]
    referer_pattern, referer_value = maps["scriptsmanager_logged_referer"]
    token = "s3cr3t-T0ken_value"

    def masked(pattern: str, value: str, text: str) -> str:
        match = re.match(pattern.replace("(?<", "(?P<"), text)
        assert match, text
        return re.sub(r"\$\{(\w+)\}", lambda name: match[name[1]], value)

    for path in (
        f"/interfaces/{token}/app/x?y=1",
        f"/interfaces/{token}.proof/",
        f"/interfaces/{token}",
    ):
        logged = masked(uri_pattern, uri_value, path)
        assert token not in logged and logged.startswith("/interfaces/~redacted")
    logged = masked(
        referer_pattern, referer_value, f"https://scripts.example.com/interfaces/{token}/"
    )
    assert logged == "https://scripts.example.com/interfaces/~redacted/"
