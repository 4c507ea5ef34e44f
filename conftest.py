import os
import uuid

import psutil
import pytest
from django.test import Client

from scriptsmanager.testing import PERSONA_PASSWORD, PERSONAS, ScriptsTree

# Every process the suite starts inherits this mark, so the end of the session
# can prove that none of them (scripts, runners, servers) was left behind.
SESSION_MARK = uuid.uuid4().hex
os.environ["SM_TEST_SESSION"] = SESSION_MARK


def _leftover_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["pid"]):
        if process.pid == os.getpid():
            continue
        try:
            if (
                process.environ().get("SM_TEST_SESSION") == SESSION_MARK
                and process.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(process)
        except psutil.Error:
            continue
    return found


def pytest_sessionfinish(session, exitstatus):
    # multiprocessing's resource tracker belongs to this process and ends with it.
    leftovers = [
        p for p in _leftover_processes() if "resource_tracker" not in " ".join(p.cmdline())
    ]
    if leftovers:
        names = ", ".join(f"{p.pid} {' '.join(p.cmdline()[:4])}" for p in leftovers)
        print(f"\nProcesses left behind by the test suite: {names}")
        for process in leftovers:
            process.kill()
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.AUDIT_LOG_DIR = tmp_path / "audit"
    settings.LOGS_DIR = tmp_path / "logs"


@pytest.fixture
def personas(db):
    """The suite's shared cast: an admin, a developer, two operators, a viewer."""
    from accounts.models import User

    return {
        name: User.objects.create_user(
            username=name, email=f"{name}@example.com", password=PERSONA_PASSWORD, user_level=level
        )
        for name, level in PERSONAS.items()
    }


@pytest.fixture
def client_for(personas):
    """client_for("op_otto") -> a Django test Client logged in as that persona."""

    def make(name: str, **kwargs) -> Client:
        client = Client(**kwargs)
        client.force_login(personas[name])
        return client

    return make


@pytest.fixture
def csrf_client(db):
    """A client that enforces CSRF checks, as a browser's requests would meet them."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The real application (`manage.py serve`: daphne, the q2 cluster, the watcher)
    on a fresh data folder with the personas and a copy of the sample script
    groups (so editing them in a test never touches the repository); yields its URL."""
    import shutil

    from django.conf import settings

    from scriptsmanager.testing import running_app

    scripts = tmp_path_factory.mktemp("live-scripts") / "script_groups"
    shutil.copytree(settings.BASE_DIR / "app" / "backend" / "script_groups", scripts)
    data = tmp_path_factory.mktemp("live-app")
    with running_app(data, extra_env={"SCRIPT_GROUPS_DIR": str(scripts)}) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def tree(settings, tmp_path) -> ScriptsTree:
    """A temporary SCRIPT_GROUPS_DIR to write real groups and scripts into."""
    root = tmp_path / "script_groups"
    root.mkdir()
    settings.SCRIPT_GROUPS_DIR = root
    return ScriptsTree(root)
