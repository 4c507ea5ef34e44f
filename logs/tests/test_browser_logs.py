"""Log pages in a real browser, against the real application with scripts of
its own: a live tail (pause, resume, a dropped connection picked up again), a
million-line log scrolled end to end, and the list's filters, preview,
presets and bulk actions.
"""

import json
import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from scriptsmanager.testing import PERSONA_PASSWORD, ApiSession, ScriptsTree, running_app

SCREENSHOTS = Path(settings.BASE_DIR) / "test-results"

HEADER = """
@required_level: viewer
@interface: false
@description: {description}
@parameters: {parameters}
"""

TICKER = """
import argparse, sys, time
from datetime import datetime

parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float, default=20)
args, _ = parser.parse_known_args()
end = time.monotonic() + args.seconds
n = 0
while time.monotonic() < end:
    n += 1
    print(f"tick {n:05d} {datetime.now().isoformat(timespec='milliseconds')}", flush=True)
    if n % 25 == 0:
        print(f"warning: {n} ticks so far", file=sys.stderr, flush=True)
    time.sleep(0.1)
print("done", flush=True)
"""

MILLION = """
import sys

lines = (f"line {i:07d} of a finished log\\n" for i in range(1, 1_000_001))
batch = []
for line in lines:
    batch.append(line)
    if len(batch) == 20_000:
        sys.stdout.write("".join(batch))
        batch.clear()
sys.stdout.write("".join(batch))
"""

ACCENTS = """
import sys

sys.stdout.write("".join(
    f"ligne {i:06d} température €{i % 97} — ü{'é' * (i % 13)}\\n" for i in range(1, 200_001)
))
"""

FAILS = """
import sys

print("reading the plant data")
print("Traceback (most recent call last):", file=sys.stderr)
print('  File "fails.py", line 5, in <module>', file=sys.stderr)
print("ValueError: boom, the sensor answered nothing", file=sys.stderr)
sys.exit(3)
"""


def header(description: str, parameters: list | None = None) -> str:
    return HEADER.format(description=description, parameters=json.dumps(parameters or []))


@pytest.fixture(scope="module")
def logs_app(tmp_path_factory):
    """The real application with a group of log-making scripts."""
    root = tmp_path_factory.mktemp("log-scripts") / "script_groups"
    root.mkdir()
    tree = ScriptsTree(root)
    tree.group("log_lab", {"name": "Log lab", "icon": "journal-text"})
    seconds = [{"name": "seconds", "type": "float", "default": 20, "required": False}]
    tree.script("log_lab", "ticker.py", header("A line every 0.1 s", seconds), body=TICKER)
    tree.script("log_lab", "million.py", header("A million lines"), body=MILLION)
    tree.script("log_lab", "fails.py", header("Fails with a traceback"), body=FAILS)
    tree.script("log_lab", "accents.py", header("Many-byte characters"), body=ACCENTS)
    data = tmp_path_factory.mktemp("logs-app")
    with running_app(data, extra_env={"SCRIPT_GROUPS_DIR": str(root)}) as url:
        yield url


@pytest.fixture
def started(logs_app):
    """Runs a test started: whatever is still running when it ends is stopped,
    so a failing test leaves no script behind."""
    runs = []
    yield runs
    for username, sid, execution in runs:
        session = ApiSession(logs_app)
        session.login(username)
        status, body = session.request("GET", f"/api/scripts/{sid}/status?execution_id={execution}")
        if status == 200 and body["status"] in ("starting", "running"):
            session.request("POST", f"/api/scripts/{sid}/stop", {"execution_id": execution})


def login(page, url, username="op_otto"):
    page.goto(url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PERSONA_PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(url + "/")


def call(page, method, path, body=None):
    """The JSON API from inside the page, with its session and CSRF token."""
    return page.evaluate(
        """async ([method, path, body]) => {
            const options = {method, body: body === null ? undefined : body};
            const response = await window.smApi(path, options);
            return {status: response.status, body: await response.json()};
        }""",
        [method, path, body],
    )


def script_id(page, filename):
    for group in call(page, "GET", "/api/script-groups")["body"]:
        for script in call(page, "GET", f"/api/script-groups/{group['id']}/scripts")["body"]:
            if script["filename"] == filename:
                return script["id"]
    raise AssertionError(f"{filename} was not discovered")


def run(page, started, filename, parameters=None):
    """Start the script as the page's user; (script id, execution id)."""
    sid = script_id(page, filename)
    reply = call(page, "POST", f"/api/scripts/{sid}/execute", {"parameters": parameters or {}})
    assert reply["status"] == 200, reply
    execution = reply["body"]["execution_id"]
    username = page.locator("[data-testid=username]").inner_text()
    started.append((username, sid, execution))
    return sid, execution


def wait_finished(page, sid, execution, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = call(page, "GET", f"/api/scripts/{sid}/status?execution_id={execution}")["body"]
        if status["status"] not in ("starting", "running"):
            return status
        time.sleep(0.3)
    raise AssertionError(f"execution {execution} still running after {timeout} s")


VIEW = """(stream) => {
    const viewer = window.smLogViewers[stream];
    const root = viewer.root;
    const shown = Array.from(root.querySelectorAll('.sm-log-line:not([hidden]) .sm-log-text'));
    const box = root.getBoundingClientRect();
    const onScreen = shown.filter((node) => {
        const r = node.getBoundingClientRect();
        return r.bottom > box.top + 1 && r.top < box.bottom - 1;
    });
    return {
        top: root.scrollTop,
        max: root.scrollHeight - root.clientHeight,
        lines: viewer.summary().lines,
        paused: viewer.paused,
        texts: onScreen.map((node) => node.textContent),
        nodes: root.querySelectorAll('.sm-log-line').length,
    };
}"""

ALL_LINES = """(stream) => window.smLogViewers[stream].segments.flatMap((s) => s.lines || [])"""


def open_tab(page, name):
    page.click(f"[data-testid=tab-{name}]")
    expect(page.locator(f"#pane-{name}")).to_have_class(re.compile(r"\bshow\b"))
    page.wait_for_timeout(200)  # the fade


def view(page, stream="stdout"):
    return page.evaluate(VIEW, stream)


def assert_ticks_are_whole(lines):
    """Every tick once, in order: nothing lost, nothing repeated."""
    ticks = [int(line.split()[1]) for line in lines if line.startswith("tick ")]
    assert ticks == list(range(1, len(ticks) + 1)), ticks


def test_a_running_log_streams_live_and_pauses_and_resumes(logs_app, page, started):
    login(page, logs_app)
    sockets = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    sid, execution = run(page, started, "ticker.py", {"seconds": 20})
    page.goto(f"{logs_app}/logs/{execution}/")
    expect(page.locator("[data-testid=live-stdout]")).to_be_visible()
    page.wait_for_function("() => window.smLogViewers.stdout.summary().lines >= 40", timeout=15000)
    assert any(f"/ws/logs/{execution}/?stdout=" in url for url in sockets)
    live = view(page)
    assert live["max"] > 0 and live["top"] >= live["max"] - 2, "follows the end"
    assert live["texts"][-1].startswith("tick ")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "log-live-light.png"))

    follow = page.locator("[data-testid=follow-stdout]")
    follow.click()
    expect(follow).to_have_attribute("aria-pressed", "true")
    paused = view(page)
    page.wait_for_function(
        f"() => window.smLogViewers.stdout.summary().lines >= {paused['lines'] + 10}"
    )
    later = view(page)
    assert later["top"] == paused["top"], "paused: the view stays put"
    assert later["max"] > paused["max"], "while lines keep arriving"
    assert later["texts"] == paused["texts"]
    expect(follow).to_contain_text(re.compile(r"Resume \(\d+ new lines\)"))

    follow.click()
    expect(follow).to_have_attribute("aria-pressed", "false")
    resumed = view(page)["lines"]
    page.wait_for_function(f"() => window.smLogViewers.stdout.summary().lines >= {resumed + 5}")
    following = view(page)
    assert following["top"] >= following["max"] - 2

    # Scrolling up pauses by itself; the end button follows again.
    page.locator("[data-testid=viewer-stdout]").hover()
    page.mouse.wheel(0, -400)
    expect(follow).to_have_attribute("aria-pressed", "true")
    page.click("[data-testid=end-stdout]")
    expect(follow).to_have_attribute("aria-pressed", "false")

    open_tab(page, "errors")
    page.wait_for_function("() => window.smLogViewers.stderr.summary().lines >= 1", timeout=10000)
    assert view(page, "stderr")["texts"][0].startswith("warning: 25 ticks")
    open_tab(page, "output")

    page.click("[data-testid=stop]")
    expect(page.locator("[data-testid=status-badge]")).to_have_text(
        re.compile("Terminated"), timeout=20000
    )
    expect(page.locator("[data-testid=live-stdout]")).to_be_hidden()
    expect(follow).to_be_hidden()
    assert_ticks_are_whole(page.evaluate(ALL_LINES, "stdout"))


def test_a_dropped_live_connection_resumes_without_gap_or_duplicate(logs_app, page, started):
    login(page, logs_app)
    connections = []

    def through(socket):
        socket.connect_to_server()
        connections.append(socket)

    page.route_web_socket(re.compile(r"/ws/logs/"), through)
    sid, execution = run(page, started, "ticker.py", {"seconds": 5})
    page.goto(f"{logs_app}/logs/{execution}/")
    page.wait_for_function("() => window.smLogViewers.stdout.summary().lines >= 15", timeout=15000)
    received = page.evaluate("() => window.smLogViewers.stdout.size")
    connections[0].close(code=4000, reason="the network went away")
    page.wait_for_function("() => true")
    deadline = time.monotonic() + 10
    while len(connections) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(connections) >= 2, "reconnected"
    resumed_from = int(re.search(r"stdout=(\d+)", connections[1].url).group(1))
    assert resumed_from >= received > 0
    expect(page.locator("[data-testid=status-badge]")).to_have_text(
        re.compile("Completed"), timeout=20000
    )
    lines = page.evaluate(ALL_LINES, "stdout")
    assert lines[-1] == "done"
    assert_ticks_are_whole(lines)
    wait_finished(page, sid, execution)


def test_a_million_line_log_opens_and_scrolls_to_its_end_with_few_nodes(logs_app, page, started):
    login(page, logs_app)
    sid, execution = run(page, started, "million.py")
    assert wait_finished(page, sid, execution)["status"] == "completed"

    page.goto(f"{logs_app}/logs/{execution}/")
    page.wait_for_function("() => window.smLogViewers.stdout.summary().size > 30000000")
    first = view(page)
    assert first["texts"][0] == "line 0000001 of a finished log"
    assert 990_000 <= first["lines"] <= 1_010_000  # estimated from the ranges read

    page.click("[data-testid=end-stdout]")
    page.wait_for_function(
        """() => {
            const nodes = Array.from(document.querySelectorAll(
                '[data-testid=viewer-stdout] .sm-log-line:not([hidden]) .sm-log-text'));
            return nodes.length && nodes[nodes.length - 1].textContent.startsWith('line 1000000');
        }""",
        timeout=5000,
    )
    end = view(page)
    assert end["top"] >= end["max"] - 2
    assert end["texts"][-1] == "line 1000000 of a finished log"
    assert end["nodes"] <= 300
    page.screenshot(path=str(SCREENSHOTS / "log-million-end.png"))

    # The middle is read when it comes into view.
    page.evaluate(
        """() => { const root = window.smLogViewers.stdout.root;
                   root.scrollTop = (root.scrollHeight - root.clientHeight) / 2; }"""
    )
    page.wait_for_function(
        """() => {
            const nodes = Array.from(document.querySelectorAll(
                '[data-testid=viewer-stdout] .sm-log-line:not([hidden]) .sm-log-text'));
            return nodes.length && nodes.every((n) => /^line 0[45]\\d{5} /.test(n.textContent));
        }""",
        timeout=5000,
    )
    middle = view(page)
    numbers = [int(text.split()[1]) for text in middle["texts"]]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert middle["nodes"] <= 300

    page.keyboard.press("Home")
    page.locator("[data-testid=viewer-stdout]").focus()
    page.keyboard.press("Home")
    page.wait_for_function(
        """() => document.querySelector('[data-testid=viewer-stdout] .sm-log-line:not([hidden])')
                 .textContent.includes('line 0000001')"""
    )


ACCENTED = re.compile(r"ligne (\d{6}) température €(\d+) — ü(é*)")
NOTHING_PENDING = """() => !Array.from(document.querySelectorAll(
    '[data-testid=viewer-stdout] .sm-log-line:not([hidden]) .sm-log-text'))
    .some((node) => node.textContent === '…')"""


def accented_lines_on_screen(page):
    """The numbers of the lines on screen, each checked whole and consecutive."""
    numbers = []
    for text in view(page)["texts"]:
        match = ACCENTED.fullmatch(text)
        assert match, repr(text)
        n = int(match.group(1))
        assert (int(match.group(2)), len(match.group(3))) == (n % 97, n % 13), text
        numbers.append(n)
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers
    return numbers


def test_ranges_read_from_the_middle_join_without_a_lost_or_cut_line(logs_app, page, started):
    """Ranges start at arbitrary bytes, often inside a character: the viewer must
    still cut them at line ends and join them exactly."""
    login(page, logs_app)
    sid, execution = run(page, started, "accents.py")
    wait_finished(page, sid, execution)
    page.goto(f"{logs_app}/logs/{execution}/")
    page.wait_for_function("() => window.smLogViewers.stdout.summary().size > 1000000")
    for fraction in (0.5, 0.13, 0.77):
        page.evaluate(
            """(fraction) => { const viewer = window.smLogViewers.stdout;
                const root = viewer.root;
                root.scrollTop = (root.scrollHeight - root.clientHeight) * fraction;
                viewer.render(); }""",
            fraction,
        )
        page.wait_for_function(NOTHING_PENDING, timeout=5000)
        accented_lines_on_screen(page)
    # Just above the end of the range read last, then page down across its end.
    page.evaluate(
        """() => {
            const viewer = window.smLogViewers.stdout;
            const spot = viewer.locate(Math.floor(viewer.topLine()));
            const end = viewer.buildIndex().starts[spot.i] + spot.segment.lines.length;
            viewer.setTopLine(end - 30, true);
            viewer.render();
        }"""
    )
    page.wait_for_function(NOTHING_PENDING, timeout=5000)
    before = accented_lines_on_screen(page)
    page.locator("[data-testid=viewer-stdout]").focus()
    for _ in range(3):
        page.keyboard.press("PageDown")
        page.evaluate("() => window.smLogViewers.stdout.render()")
        page.wait_for_function(NOTHING_PENDING, timeout=5000)
        after = accented_lines_on_screen(page)
        assert after[0] > before[0]
        before = after


def test_the_list_filters_previews_presets_and_bulk_actions(logs_app, page, started):
    login(page, logs_app, "op_olga")
    ticker, quick = run(page, started, "ticker.py", {"seconds": 0.3})
    fails, failed = run(page, started, "fails.py")
    _, other = run(page, started, "ticker.py", {"seconds": 0.2})
    wait_finished(page, ticker, quick)
    wait_finished(page, fails, failed)
    wait_finished(page, ticker, other)

    page.click("[data-testid=nav-logs]")
    rows = page.locator("[data-testid=log-row]")
    expect(rows).to_have_count(3)
    expect(page.locator("[data-testid=log-stats]")).to_contain_text("3 runs")

    page.select_option("[data-testid=filter-status]", "failed")
    expect(rows).to_have_count(1)
    assert "status=failed" in page.url
    row = rows.first
    row.locator("[data-testid=preview-toggle]").click()
    expect(page.locator("[data-testid=preview-row]").first).to_contain_text("ValueError: boom")

    page.on("dialog", lambda dialog: dialog.accept("Failures"))
    page.click("[data-testid=presets-menu]")
    page.click("[data-testid=save-preset]")
    page.click("[data-testid=reset-filters]")
    expect(rows).to_have_count(3)
    page.click("[data-testid=presets-menu]")
    page.click("[data-testid=preset]:has-text('Failures')")
    expect(rows).to_have_count(1)
    expect(page.locator("[data-testid=filter-status]")).to_have_value("failed")
    page.click("[data-testid=reset-filters]")

    page.fill("[data-testid=log-search]", "sensor answered")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("fails.py")
    page.fill("[data-testid=log-search]", "")
    expect(rows).to_have_count(3)

    page.click("th[data-sort=script] button")
    expect(page.locator("th[data-sort=script]")).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text("fails.py")
    page.click("th[data-sort=script] button")
    expect(page.locator("th[data-sort=script]")).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_contain_text("ticker.py")

    SCREENSHOTS.mkdir(exist_ok=True)
    rows.nth(2).locator("[data-testid=preview-toggle]").click()
    page.screenshot(path=str(SCREENSHOTS / "logs-list-light.png"), full_page=True)
    page.click("[data-testid=theme-toggle]")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    page.wait_for_timeout(400)  # Bootstrap's colour transitions
    page.screenshot(path=str(SCREENSHOTS / "logs-list-dark.png"), full_page=True)

    def row_of(execution):
        return page.locator(f"[data-testid=log-row][data-id='{execution}']")

    row_of(other).locator("input[type=checkbox]").check()
    row_of(failed).locator("input[type=checkbox]").check()
    expect(page.locator("[data-testid=bulk-bar]")).to_contain_text("2 logs selected")
    with page.expect_download() as download:
        page.click("[data-testid=export-json]")
    exported = json.loads(Path(download.value.path()).read_text())
    assert {doc["execution_id"] for doc in exported} == {other, failed}
    row_of(failed).locator("input[type=checkbox]").uncheck()
    page.click("[data-testid=bulk-delete]")
    expect(page.locator("#sm-delete-modal")).to_contain_text("Delete 1 log")
    page.click("[data-testid=confirm-delete]")
    expect(rows).to_have_count(2)
    expect(row_of(other)).to_have_count(0)
    expect(page.locator("[data-testid=bulk-bar]")).to_be_hidden()

    # The failed run's page, in the dark theme, then light again.
    page.goto(f"{logs_app}/logs/{failed}/")
    expect(page.locator("[data-testid=status-badge]")).to_have_text(re.compile("Failed"))
    expect(page.locator("[data-testid=exit-code]")).to_have_text("3")
    open_tab(page, "errors")
    page.wait_for_function("() => window.smLogViewers.stderr.summary().lines === 3")
    assert view(page, "stderr")["texts"][-1].startswith("ValueError: boom")
    page.click("[data-testid=bookmark]")
    page.fill("[data-testid=note]", "the sensor again")
    expect(page.locator("[data-role=note-state]")).to_have_text("Saved")
    page.screenshot(path=str(SCREENSHOTS / "log-detail-dark.png"), full_page=True)
    page.click("[data-testid=theme-toggle]")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
    page.reload()
    open_tab(page, "errors")
    page.wait_for_function("() => window.smLogViewers.stderr.summary().lines === 3")
    page.screenshot(path=str(SCREENSHOTS / "log-detail-light.png"), full_page=True)
    expect(page.locator("[data-testid=note]")).to_have_value("the sensor again")
    expect(page.locator("[data-testid=bookmark]")).to_have_attribute("aria-pressed", "true")
    page.goto(f"{logs_app}/logs/")
    page.click("[data-testid=bookmarks-menu]")
    expect(page.locator("[data-testid=bookmark-item]")).to_contain_text("the sensor again")

    # Run again: the same parameters, a new log page.
    page.goto(f"{logs_app}/logs/{quick}/")
    open_tab(page, "parameters")
    expect(page.locator("[data-testid=parameters-table]")).to_contain_text("0.3")
    page.click("[data-testid=rerun]")
    page.wait_for_url(lambda url: re.search(r"/logs/[0-9a-f-]{36}/$", url) and quick not in url)
    again = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator("[data-testid=status-badge]")).to_have_text(
        re.compile("Completed"), timeout=20000
    )
    assert page.evaluate(ALL_LINES, "stdout")[-1] == "done"
    wait_finished(page, ticker, again)
