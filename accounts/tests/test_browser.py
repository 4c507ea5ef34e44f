"""A person in a real browser: log in, go dark, switch to Italian, reload."""

from pathlib import Path

from django.conf import settings
from django.utils import translation

from scriptsmanager.testing import PERSONA_PASSWORD

SCREENSHOTS = Path(settings.BASE_DIR) / "test-results"


def italian(text: str) -> str:
    with translation.override("it"):
        translated = translation.gettext(text)
    assert translated != text, f"no Italian for {text!r}"
    return translated


def test_login_dark_mode_and_italian_survive_a_reload(live_app, page):
    page.goto(live_app + "/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", "op_otto")
    page.fill("input[name=password]", PERSONA_PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(live_app + "/")
    assert page.locator("[data-testid=username]").inner_text() == "op_otto"
    assert page.get_attribute("html", "data-bs-theme") == "light"

    with page.expect_response(lambda r: r.url.endswith("/accounts/preferences/")):
        page.click("[data-testid=theme-toggle]")
    assert page.get_attribute("html", "data-bs-theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 22, 31)"

    page.click("[data-testid=language-menu]")
    page.click("[data-testid=language-it]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "it"
    assert italian("Script groups") in page.content()

    page.reload()
    assert page.get_attribute("html", "lang") == "it"
    assert page.get_attribute("html", "data-bs-theme") == "dark"
    assert italian("Script groups") in page.content()
    # The theme is in the server's HTML, so it applies before first paint.
    raw = page.request.get(live_app + "/").text()
    assert '<html lang="it" data-bs-theme="dark">' in raw

    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-dark-it.png"), full_page=True)


def test_a_wrong_password_shows_the_message_in_the_chosen_language(live_app, page):
    page.goto(live_app + "/accounts/login/")
    page.click("[data-testid=language-menu]")
    page.click("[data-testid=language-fr]")
    page.wait_for_load_state()
    page.fill("input[name=username]", "op_olga")
    page.fill("input[name=password]", "wrong")
    page.click("[data-testid=login-submit]")
    with translation.override("fr"):
        expected = translation.gettext("Invalid username or password.")
    assert page.locator("[data-testid=login-error]").inner_text().strip() == expected
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "login-error-fr.png"))
