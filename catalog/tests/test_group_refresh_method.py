"""Re-reading a group's files changes the catalogue: only an unsafe,
CSRF-checked method may do it, never a GET that an <img> or a link can send."""

import pytest
from django.test import Client

from catalog.discovery import discovery_run
from catalog.models import Script


@pytest.fixture
def script(tree, personas):
    tree.group("g")
    tree.script("g", "calc.py", "@description: Before\n")
    discovery_run()
    return Script.objects.get()


def _header_changed(tree, script) -> None:
    tree.write(script.path, script.path.read_text().replace("Before", "After"))


def test_a_get_to_group_refresh_is_refused_and_changes_nothing(tree, script, client_for):
    _header_changed(tree, script)
    response = client_for("dev_dora").get(f"/api/script-groups/{script.group_id}/refresh")
    assert response.status_code == 405
    script.refresh_from_db()
    assert script.description_en == "Before"


def test_group_refresh_by_post_needs_the_csrf_token(tree, script, personas):
    _header_changed(tree, script)
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["dev_dora"])
    url = f"/api/script-groups/{script.group_id}/refresh"
    assert client.post(url).status_code == 403
    script.refresh_from_db()
    assert script.description_en == "Before"

    client.get("/")  # the page sets the csrftoken cookie the JavaScript sends back
    response = client.post(url, headers={"X-CSRFToken": client.cookies["csrftoken"].value})
    assert response.status_code == 200, response.content
    script.refresh_from_db()
    assert script.description_en == "After"


def test_the_openapi_document_lists_group_refresh_as_post_only(client_for):
    paths = client_for("dev_dora").get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/script-groups/{group_id}/refresh"]) == {"post"}
