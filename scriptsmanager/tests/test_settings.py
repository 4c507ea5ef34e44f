"""Settings are read strictly from the environment: a bad value stops start-up
with a message naming the variable, and SECRET_KEY comes from the environment
or from a key file created once, owner-readable only, even under a race."""

import multiprocessing
import os
import stat
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from scriptsmanager.conf import secret_key_load

# Variables a developer's shell could carry that would change what these tests see.
_INHERITED_NOISE = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "PORT_RANGE_START",
    "PORT_RANGE_END",
    "INTERFACE_ACCESS",
    "BACKUP_SCHEDULE_TIME",
)


def _check_env(data_dir: Path, **variables: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _INHERITED_NOISE}
    env["DJANGO_SETTINGS_MODULE"] = "scriptsmanager.settings"
    env["BASE_DATA_PATH"] = str(data_dir)
    env.update(variables)
    return env


def _manage_check(data_dir: Path, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=_check_env(data_dir, **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- Bad values stop start-up -------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "named", "shown_value"),
    [
        pytest.param({"PORT_RANGE_START": "abc"}, "PORT_RANGE_START", "abc", id="bad-integer"),
        pytest.param({"DEBUG": "maybe"}, "DEBUG", "maybe", id="bad-bool"),
        pytest.param({"INTERFACE_ACCESS": "tunnel"}, "INTERFACE_ACCESS", "tunnel", id="bad-choice"),
        pytest.param(
            {"BACKUP_SCHEDULE_TIME": "25:00"}, "BACKUP_SCHEDULE_TIME", "25:00", id="bad-clock"
        ),
        pytest.param(
            {"PROXY_HEADERS": "true", "TRUSTED_PROXIES": "127.0.0.1,nginx.local"},
            "TRUSTED_PROXIES",
            "nginx.local",
            id="bad-proxy-address",
        ),
        pytest.param(
            {"PORT_RANGE_START": "5300", "PORT_RANGE_END": "5200"},
            "PORT_RANGE_END",
            "5200",
            id="range-end-below-start",
        ),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(tmp_path, variables, named, shown_value):
    result = _manage_check(tmp_path, SECRET_KEY="k" * 50, **variables)

    assert result.returncode != 0
    message = _last_line(result.stderr)
    assert "ImproperlyConfigured" in message
    assert named in message
    assert shown_value in message


def test_the_same_environment_without_the_bad_value_passes_the_check(tmp_path):
    result = _manage_check(tmp_path, SECRET_KEY="k" * 50, PORT_RANGE_START="5200")

    assert result.returncode == 0, result.stderr


def _setting_seen(data_dir: Path, name: str, **variables: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"from django.conf import settings; print(settings.{name})",
        ],
        cwd=settings.BASE_DIR,
        env=_check_env(data_dir, SECRET_KEY="k" * 50, **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return _last_line(result.stdout)


def test_the_older_name_of_the_login_pair_limit_still_sets_it(tmp_path):
    assert _setting_seen(tmp_path, "LOGIN_THROTTLE_MAX_PER_PAIR") == "5"
    old = {"LOGIN_THROTTLE_MAX_PER_USER": "7"}
    assert _setting_seen(tmp_path, "LOGIN_THROTTLE_MAX_PER_PAIR", **old) == "7"
    both = {**old, "LOGIN_THROTTLE_MAX_PER_PAIR": "3"}
    assert _setting_seen(tmp_path, "LOGIN_THROTTLE_MAX_PER_PAIR", **both) == "3"
    networks = {"TRUSTED_PROXIES": "10.1.2.3/16, ::1"}
    assert _setting_seen(tmp_path, "TRUSTED_PROXIES", **networks) == "['10.1.0.0/16', '::1/128']"


# --- SECRET_KEY -----------------------------------------------------------------------------


def test_the_first_start_without_a_secret_key_writes_an_owner_only_key_file(tmp_path):
    result = _manage_check(tmp_path)

    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32
    assert not list(tmp_path.glob(".secret_key.*")), "a temporary key file was left behind"


def test_a_second_start_keeps_the_key_written_by_the_first(tmp_path):
    first = _manage_check(tmp_path)
    assert first.returncode == 0, first.stderr
    key = (tmp_path / "secret_key").read_text()

    second = _manage_check(tmp_path)

    assert second.returncode == 0, second.stderr
    assert (tmp_path / "secret_key").read_text() == key
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_a_secret_key_from_the_environment_leaves_no_key_file(tmp_path):
    result = _manage_check(tmp_path, SECRET_KEY="an-environment-provided-key-" + "x" * 40)

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "secret_key").exists()
    assert not list(tmp_path.glob(".secret_key.*"))


# --- Concurrent first use ------------------------------------------------------------------

ROUNDS = 8
RACERS = 6


def _load_keys_after_barrier(data_dirs, barrier):
    """Load the key of each directory, every racer starting each one together."""
    outcomes = []
    for data_dir in data_dirs:
        barrier.wait(timeout=60)
        try:
            outcomes.append(("key", secret_key_load(Path(data_dir))))
        except Exception as error:  # the outcome is the assertion's business
            outcomes.append(("error", repr(error)))
    return outcomes


def _process_racer(data_dirs, barrier, results):
    results.put(_load_keys_after_barrier(data_dirs, barrier))


def _assert_one_key_per_directory(data_dirs, outcomes_per_racer):
    for index, data_dir in enumerate(data_dirs):
        seen = [outcomes[index] for outcomes in outcomes_per_racer]
        errors = [detail for kind, detail in seen if kind == "error"]
        assert not errors, f"{data_dir}: {errors}"
        keys = {detail for _, detail in seen}
        assert keys == {(Path(data_dir) / "secret_key").read_text().strip()}, data_dir
        assert stat.S_IMODE((Path(data_dir) / "secret_key").stat().st_mode) == 0o600
        assert not list(Path(data_dir).glob(".secret_key.*"))


def test_processes_loading_the_key_at_once_all_get_the_same_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    data_dirs = [str(tmp_path / f"data-{n}") for n in range(ROUNDS)]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACERS)
    results = context.Queue()
    racers = [
        context.Process(target=_process_racer, args=(data_dirs, barrier, results))
        for _ in range(RACERS)
    ]
    try:
        for racer in racers:
            racer.start()
        outcomes_per_racer = [results.get(timeout=120) for _ in racers]
    finally:
        for racer in racers:
            racer.join(timeout=30)
            if racer.is_alive():
                racer.kill()
                racer.join()

    _assert_one_key_per_directory(data_dirs, outcomes_per_racer)


def test_threads_loading_the_key_at_once_all_get_the_same_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    data_dirs = [str(tmp_path / f"data-{n}") for n in range(ROUNDS * 4)]
    barrier = threading.Barrier(RACERS * 2)

    with ThreadPoolExecutor(max_workers=RACERS * 2) as pool:
        futures = [
            pool.submit(_load_keys_after_barrier, data_dirs, barrier) for _ in range(RACERS * 2)
        ]
        outcomes_per_racer = [future.result(timeout=120) for future in futures]

    _assert_one_key_per_directory(data_dirs, outcomes_per_racer)
