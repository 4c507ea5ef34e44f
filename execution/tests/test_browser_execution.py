"""A person runs a sample script from its form, uses its interface in the page, and stops it."""

from pathlib import Path

from django.conf import settings

from scriptsmanager.testing import PERSONA_PASSWORD

SCREENSHOTS = Path(settings.BASE_DIR) / "test-results"


def test_run_a_sample_script_see_its_interface_and_stop_it(live_app, page):
    page.goto(live_app + "/accounts/login/")
    page.fill("input[name=username]", "op_olga")
    page.fill("input[name=password]", PERSONA_PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(live_app + "/")
    page.click("[data-testid=group-card]:has-text('Thermal')")
    card = page.locator("[data-testid=script-card]:has-text('heat_transfer.py')")
    card.locator("[data-testid=run-button]").click()
    form = card.locator("[data-testid=run-form]")
    form.wait_for(state="visible")
    with page.context.expect_page() as opened:
        form.locator("[data-testid=start]").click()
    interface = opened.value
    interface.wait_for_url("**/interfaces/**", timeout=30000)
    interface.wait_for_load_state()
    assert interface.locator("[data-testid=project-name]").inner_text() == "project_default"
    frame = interface.frame_locator("[data-testid=interface-frame]")
    frame.locator("body").wait_for()
    frame.locator("text=SIDEL").first.wait_for(timeout=15000)
    # The script's own requests (a fetch POST from its page) go through the proxy too.
    with interface.expect_response(
        lambda r: "/app/api/" in r.url and r.request.method == "POST"
    ) as reply:
        frame.locator("#calc").click()
    assert reply.value.status == 200
    # ... under the proof of op_olga's session, which the frame was sent to.
    token = interface.url.split("/interfaces/", 1)[1].split("/", 1)[0]
    assert reply.value.url.startswith(f"{live_app}/interfaces/{token}.")
    SCREENSHOTS.mkdir(exist_ok=True)
    interface.screenshot(path=str(SCREENSHOTS / "interface.png"))

    # The script's own page cannot read the manager's session: its origin is opaque.
    cookie = frame.locator("body").evaluate(
        "() => { try { return document.cookie; } catch (e) { return 'blocked'; } }"
    )
    assert "sessionid" not in cookie

    interface.click("[data-testid=stop-interface]")
    interface.locator("[data-role=ended]").wait_for(state="visible", timeout=20000)
    assert "Stopped by the user" in interface.locator("[data-role=ended]").inner_text()

    page.goto(live_app + "/")
    assert "heat_transfer" not in page.locator("[data-testid=active-interfaces]").inner_text()
