"""Input with a NUL character is refused with a 400 naming the field, on
every database (PostgreSQL cannot store it), and nothing changes."""

import json

from projects.models import UserProject


def test_a_search_with_nul_is_a_400_naming_the_field(client_for):
    response = client_for("op_otto").get("/api/logs/execution?q=a%00b")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "q"
    assert "NUL" in response.json()["detail"]


def test_a_page_with_nul_is_a_400_page_in_the_users_language(client_for, personas):
    personas["op_otto"].preferred_language = "es"
    personas["op_otto"].save()
    response = client_for("op_otto").get("/logs/?q=a%00b")
    assert response.status_code == 400
    assert 'data-testid="bad-request"' in response.content.decode()
    assert "Solicitud no válida" in response.content.decode()


def test_a_json_body_with_nul_changes_nothing(client_for, tree):
    from catalog.discovery import discovery_run

    tree.script("lab", "a.py", "@required_level: viewer")
    discovery_run()
    group_id = client_for("op_otto").get("/api/script-groups").json()[0]["id"]
    response = client_for("op_otto").post(
        "/api/projects",
        json.dumps({"group_id": group_id, "name": "x", "description": ["ok", "a\u0000b"]}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "description[1]"
    assert not UserProject.objects.filter(name="x").exists()


def test_ordinary_input_passes(client_for):
    assert client_for("op_otto").get("/api/logs/execution?q=valve").status_code == 200
