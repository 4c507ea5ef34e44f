"""A developer in a real browser: browse groups, filter, read and edit docs, edit metadata."""

from pathlib import Path

from django.conf import settings

from scriptsmanager.testing import PERSONA_PASSWORD

SCREENSHOTS = Path(settings.BASE_DIR) / "test-results"


def login(page, url, username):
    page.goto(url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PERSONA_PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(url + "/")


def open_group(page, name):
    page.click(f"[data-testid=group-card]:has-text('{name}')")
    page.wait_for_selector("[data-testid=group-name]")


def test_browse_filter_and_read_the_docs_with_math(live_app, page):
    login(page, live_app, "op_olga")
    assert page.locator("[data-testid=group-card]").count() >= 2
    open_group(page, "Thermal")
    cards = page.locator("[data-testid=script-card]")
    assert cards.count() == 2
    page.fill("[data-testid=script-filter]", "stress")
    assert page.locator("[data-testid=script-card]:visible").count() == 1
    page.fill("[data-testid=script-filter]", "")
    first = cards.nth(0)
    first.locator("[data-sm-action=toggle-doc]").click()
    panel = first.locator("[data-testid=doc-panel]")
    panel.locator(".katex").first.wait_for()
    assert panel.locator("h1, h2").count() >= 1
    assert first.locator("[data-testid=run-button]").is_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "group-docs.png"), full_page=True)


def test_a_viewer_has_no_run_button(live_app, page):
    login(page, live_app, "vic_viewer")
    open_group(page, "Thermal")
    assert page.locator("[data-testid=script-card]").count() == 2
    assert page.locator("[data-testid=run-button]").count() == 0


def test_a_developer_edits_docs_with_a_live_preview_and_edits_metadata(live_app, page):
    login(page, live_app, "dev_dora")
    open_group(page, "Data")
    card = page.locator("[data-testid=script-card]").first
    card.locator("[data-testid=edit-doc]").click()
    editor = page.locator("[data-testid=doc-text]")
    editor.wait_for()
    editor.fill(
        "# Hello from the browser\n\nEnergy $E = mc^2$\n\n<script>window.pwned = 1</script>"
    )
    preview = page.locator("[data-testid=doc-preview]")
    preview.locator("h1:has-text('Hello from the browser')").wait_for()
    preview.locator(".katex").first.wait_for()
    assert page.evaluate("window.pwned") is None
    with page.expect_response(lambda r: "/description-long" in r.url and r.request.method == "PUT"):
        page.click("[data-testid=save-doc]")
    page.wait_for_selector("#sm-doc-modal", state="hidden")
    card.locator("[data-sm-action=toggle-doc]").click()
    card.locator("[data-testid=doc-panel] h1:has-text('Hello from the browser')").wait_for()

    card.locator("[data-testid=edit-metadata]").click()
    page.locator("#md-desc-en").wait_for(state="visible")
    page.fill("#md-desc-en", "Edited in the browser")
    with page.expect_navigation():
        page.click("[data-testid=save-metadata]")
    assert (
        page.locator("[data-testid=script-card]")
        .first.locator("text=Edited in the browser")
        .is_visible()
    )
    page.screenshot(path=str(SCREENSHOTS / "group-edited.png"), full_page=True)
