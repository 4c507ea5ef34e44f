"""The manager's pages run under a strict Content-Security-Policy (own scripts,
styles, fonts and frames only; images from itself and data:) and every main
page works under it in Chromium, light and dark, without one violation; a
remote image in the docs is never requested."""

import shutil
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from catalog.tests.test_doc_images import png_bytes
from scriptsmanager.testing import PERSONA_PASSWORD, running_app

# Its subject does not depend on the database: run on one backend (bin/test).
pytestmark = pytest.mark.one_backend

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    scripts = tmp_path_factory.mktemp("csp-scripts") / "script_groups"
    shutil.copytree(settings.BASE_DIR / "app" / "backend" / "script_groups", scripts)
    docs = scripts / "thermal_analysis" / "docs"
    (docs / "img").mkdir()
    (docs / "img" / "plot.png").write_bytes(png_bytes(40, 30))
    doc = docs / "heat_transfer.md"
    doc.write_text(
        doc.read_text() + "\n\n![Temperature plot](img/plot.png)\n\n"
        "![tracking pixel](https://tracker.example/pixel.gif?viewer=1)\n"
    )
    with running_app(
        tmp_path_factory.mktemp("csp-app"), extra_env={"SCRIPT_GROUPS_DIR": str(scripts)}
    ) as url:
        yield url


class Watch:
    """What the browser reports: CSP violations of the manager's own pages
    (the script's page in the frame is the script's business), requests to
    anywhere but the app, and the CSP header of each page."""

    def __init__(self, context, app: str) -> None:
        self.app = app
        self.violations: list[str] = []
        self.foreign: list[str] = []
        self.policies: dict[str, str | None] = {}
        self.interface_policies: list[str | None] = []
        context.add_init_script(WATCH_VIOLATIONS)
        context.on("page", self.page_watch)
        context.on("request", self.request_seen)

    def page_watch(self, page) -> None:
        page.on("console", self.console_seen)
        page.on("response", self.response_seen)

    def _managers(self, url: str) -> bool:
        return url.startswith(self.app) and "/app/" not in urlsplit(url).path

    def console_seen(self, message) -> None:
        text = message.text
        if ("Content Security Policy" in text or "Refused to" in text) and self._managers(
            message.location.get("url") or self.app
        ):
            self.violations.append(f"{message.location.get('url')}: {text}")

    def request_seen(self, request) -> None:
        if request.url.startswith(("http:", "https:", "ws:")) and not request.url.startswith(
            self.app
        ):
            self.foreign.append(request.url)

    def response_seen(self, response) -> None:
        if response.request.resource_type != "document" or not response.url.startswith(self.app):
            return
        policy = response.headers.get("content-security-policy")
        if self._managers(response.url):
            self.policies[response.url] = policy
        else:
            self.interface_policies.append(policy)

    def page_checked(self, page) -> None:
        page.wait_for_load_state("load")
        reported = page.evaluate("window.__cspViolations")
        self.violations += [f"{page.url}: {v}" for v in reported]


def _visit(watch: Watch, page, url: str) -> None:
    page.goto(url)
    watch.page_checked(page)


def _theme_set(page, theme: str) -> None:
    if page.locator("html").get_attribute("data-bs-theme") != theme:
        with page.expect_response(lambda r: "/accounts/preferences/" in r.url):
            page.click("[data-testid=theme-toggle]")
    page.reload()
    assert page.locator("html").get_attribute("data-bs-theme") == theme


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_main_page_works_under_the_csp_without_a_violation(app, browser, theme):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": "sm_theme", "value": theme, "url": app}])
    watch = Watch(context, app)
    page = context.new_page()
    try:
        _visit(watch, page, app + "/accounts/login/")
        assert page.locator("html").get_attribute("data-bs-theme") == theme
        page.fill("input[name=username]", "ada_admin")
        page.fill("input[name=password]", PERSONA_PASSWORD)
        page.click("[data-testid=login-submit]")
        page.wait_for_url(app + "/")
        _theme_set(page, theme)
        watch.page_checked(page)

        # A group, and a script's docs with KaTeX math, code, a local image and a pixel.
        page.click("[data-testid=group-card]:has-text('Thermal')")
        watch.page_checked(page)
        card = page.locator("[data-testid=script-card]:has-text('heat_transfer.py')")
        card.locator("[data-sm-action=toggle-doc]").click()
        panel = card.locator("[data-testid=doc-panel]")
        panel.locator(".katex").first.wait_for()
        assert panel.locator(".codehilite").count() >= 1
        image = panel.locator("img[alt='Temperature plot']")
        image.wait_for()
        assert image.evaluate("img => img.complete && img.naturalWidth") == 40
        assert "tracking pixel" in panel.inner_text()
        watch.page_checked(page)

        # The interface page, framing the script's interface.
        card.locator("[data-testid=run-button]").click()
        form = card.locator("[data-testid=run-form]")
        form.wait_for(state="visible")
        with context.expect_page() as opened:
            form.locator("[data-testid=start]").click()
        interface = opened.value
        interface.wait_for_url("**/interfaces/**", timeout=30000)
        watch.page_checked(interface)
        frame = interface.frame_locator("[data-testid=interface-frame]")
        frame.locator("text=SIDEL").first.wait_for(timeout=15000)
        execution = interface.locator("#sm-interface").get_attribute("data-execution-id")
        interface.click("[data-testid=stop-interface]")
        interface.locator("[data-role=ended]").wait_for(state="visible", timeout=20000)
        watch.page_checked(interface)
        interface.close()

        _visit(watch, page, app + "/logs/")
        page.locator("[data-testid=log-row]").first.wait_for()
        _visit(watch, page, app + f"/logs/{execution}/")
        _visit(watch, page, app + "/projects/")
        _visit(watch, page, app + "/admin/")
        _visit(watch, page, app + "/admin/accounts/user/")
        _visit(watch, page, app + "/admin/accounts/user/add/")
        _visit(watch, page, app + "/api/docs")
        page.locator(".swagger-ui .opblock").first.wait_for()
        watch.page_checked(page)
    finally:
        context.close()

    assert watch.violations == []
    assert watch.foreign == []
    assert watch.policies, "no page was seen: the test itself is broken"
    # The script's own page, through the proxy, does not get the manager's policy.
    assert watch.interface_policies, "the interface's page was not seen"
    manager_policy = next(iter(watch.policies.values()))
    assert manager_policy not in watch.interface_policies
    for url, policy in watch.policies.items():
        assert policy, f"{url} has no Content-Security-Policy"
        directives = dict(
            (part.split(" ", 1) + [""])[:2] for part in policy.split("; ") if part.strip()
        )
        assert directives["script-src"] == "'self'", url
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, url
        assert directives["img-src"] == "'self' data:", url
        assert directives["object-src"] == "'none'", url
