"""A person in a real browser: create a project, make it active, find it in the
group page's header switcher, back it up, and delete it through the confirmation."""

import re
from pathlib import Path

from django.conf import settings

from scriptsmanager.testing import PERSONA_PASSWORD

SCREENSHOTS = Path(settings.BASE_DIR) / "test-results"
NAME = "Browser trial"
RENAMED = "Browser trial renamed"


def login(page, url, username):
    page.goto(url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PERSONA_PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url(url + "/")


def row(page, name):
    return page.locator(f"[data-testid=project-row][data-name='{name}']")


def test_create_activate_switch_back_up_and_delete_a_project(live_app, page):
    login(page, live_app, "ada_admin")
    page.click("[data-testid=nav-projects]")
    form = page.locator("[data-testid=project-form]")
    form.wait_for()
    page.select_option("[data-testid=project-form-group]", label="Thermal Analysis")
    page.fill("[data-testid=project-form-name]", NAME)
    page.fill("[data-testid=project-form-description]", "Made by the browser test")
    page.click("[data-testid=project-form-submit]")
    page.wait_for_url("**/projects/?created=*")
    created = row(page, NAME)
    created.wait_for()
    assert "Made by the browser test" in created.inner_text()
    assert created.locator("[data-testid=project-active]").count() == 0

    # The same name again in the same group: refused, said under the field.
    page.select_option("[data-testid=project-form-group]", label="Thermal Analysis")
    page.fill("[data-testid=project-form-name]", NAME)
    page.click("[data-testid=project-form-submit]")
    feedback = form.locator("[data-error-for=name]")
    feedback.wait_for(state="visible")
    assert "already have a project with this name" in feedback.inner_text()
    assert row(page, NAME).count() == 1

    # Rename through the modal: a bad name is refused under the field, a good one kept.
    created.locator("[data-testid=project-edit]").click()
    edit = page.locator("#sm-edit-modal")
    edit.locator("[data-testid=edit-name]").wait_for(state="visible")
    edit.locator("[data-testid=edit-name]").fill("bad/name")
    edit.locator("[data-testid=edit-save]").click()
    edit.locator("[data-error-for=name]").wait_for(state="visible")
    edit.locator("[data-testid=edit-name]").fill(RENAMED)
    with page.expect_navigation():
        edit.locator("[data-testid=edit-save]").click()
    created = row(page, RENAMED)
    created.wait_for()

    created.locator("[data-testid=project-activate]").click()
    created.locator("[data-testid=project-active]").wait_for()
    project_id = created.get_attribute("data-project-id")

    with page.expect_download() as download:
        created.locator("[data-testid=project-backup]").click()
    assert re.fullmatch(
        r"user_ada_admin-\d+_project_Browser_trial_renamed-\d+_\d{8}_\d{6}(_\d+)?\.zip",
        download.value.suggested_filename,
    )
    page.locator("[data-testid=projects-status].alert-success").wait_for()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "projects.png"), full_page=True)

    page.click("section:has-text('Thermal Analysis') h2 a")
    switcher = page.locator("nav.navbar [data-testid=project-select]")
    switcher.wait_for()
    assert switcher.input_value() == project_id
    assert switcher.locator("option:checked").inner_text() == RENAMED

    page.click("[data-testid=nav-projects]")
    created = row(page, RENAMED)
    created.locator("[data-testid=project-delete]").click()
    modal = page.locator("#sm-delete-modal")
    modal.locator("[data-testid=confirm-delete]").wait_for(state="visible")
    assert RENAMED in modal.inner_text()
    assert "backup of its data folder is taken first" in modal.inner_text()
    modal.locator("[data-testid=confirm-delete]").click()
    backup = modal.locator("[data-testid=delete-backup-name]")
    backup.wait_for(state="visible")
    assert re.fullmatch(
        r"user_ada_admin-\d+_project_Browser_trial_renamed-\d+_\d{8}_\d{6}(_\d+)?\.zip",
        backup.inner_text(),
    )
    created.wait_for(state="detached")
    with page.expect_navigation():
        modal.locator("[data-testid=delete-close]").click()
    page.locator("[data-testid=project-form]").wait_for()
    assert row(page, RENAMED).count() == 0
    assert page.locator("[data-testid=project-row]").count() >= 3  # the defaults stay
