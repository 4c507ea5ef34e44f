import json
import sys

import pytest

from accounts.models import AuditEvent
from catalog.discovery import discovery_run
from catalog.models import Script, ScriptGroup

HEADER = """
@description: From the header
@description_it: Dall'intestazione
@required_level: operator
@tags: alpha,beta
@parameters: [{"name": "n", "type": "int", "default": 1}]
"""


@pytest.fixture
def script(tree, personas):
    tree.group("g", {"name": {"en": "Group", "es": "Grupo"}})
    tree.script("g", "calc.py", HEADER)
    discovery_run()
    return Script.objects.get()


def put(client, url, body):
    return client.put(url, json.dumps(body), content_type="application/json")


def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_metadata_returns_all_four_translations(script, client_for):
    body = client_for("op_otto").get(f"/api/scripts/{script.pk}/metadata").json()
    assert body["description"] == {
        "en": "From the header",
        "es": None,
        "it": "Dall'intestazione",
        "fr": None,
    }
    assert body["edited_fields"] == []


def test_api_texts_follow_the_users_language_or_lang(script, client_for, personas):
    client = client_for("op_otto")
    assert client.get("/api/script-groups").json()[0]["name"] == "Group"
    assert client.get("/api/script-groups?lang=es").json()[0]["name"] == "Grupo"
    personas["op_otto"].preferred_language = "it"
    personas["op_otto"].save()
    scripts = client.get(f"/api/script-groups/{script.group_id}/scripts").json()
    assert scripts[0]["description"] == "Dall'intestazione"
    assert client.get("/api/script-groups").json()[0]["name"] == "Group"  # no Italian: English


def test_ui_edits_survive_a_refresh_and_can_be_reverted(tree, script, client_for):
    client = client_for("dev_dora")
    response = put(
        client,
        f"/api/scripts/{script.pk}/metadata",
        {
            "description": {"en": "Edited", "fr": "Modifié"},
            "tags": ["gamma"],
            "execution_timeout": 60,
        },
    )
    assert response.status_code == 200, response.content
    assert set(response.json()["edited_fields"]) == {
        "description_en",
        "description_fr",
        "tags",
        "execution_timeout",
    }
    tree.write(script.path, script.path.read_text().replace("From the header", "New header text"))
    assert post(client, f"/api/scripts/{script.pk}/refresh-metadata").status_code == 200
    group_refresh = post(client, f"/api/script-groups/{script.group_id}/refresh")
    assert group_refresh.status_code == 200 and group_refresh.json()["scripts"] == 1
    script.refresh_from_db()
    assert (script.description_en, script.description_fr, script.tags) == (
        "Edited",
        "Modifié",
        ["gamma"],
    )
    assert script.description_it == "Dall'intestazione"

    reverted = put(
        client, f"/api/scripts/{script.pk}/metadata", {"reset": ["description_en", "tags"]}
    ).json()
    assert reverted["description"]["en"] == "New header text"
    assert reverted["tags"] == ["alpha", "beta"]
    assert set(reverted["edited_fields"]) == {"description_fr", "execution_timeout"}
    assert (
        AuditEvent.objects.filter(action="metadata_edited", actor_username="dev_dora").count() == 2
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"required_level": "root"}, "required_level"),
        ({"parameters": [{"name": "x", "type": "matrix"}]}, "parameters"),
        ({"parameters": [{"name": "a"}, {"name": "A"}]}, "parameters"),
        ({"tags": ["ok", "not ok!"]}, "tags"),
        ({"tags": ["t"] * 0 + [f"t{i}" for i in range(21)]}, "tags"),
        ({"execution_timeout": -5}, "execution_timeout"),
        ({"display_name": {"de": "Name"}}, "display_name"),
        ({"display_name": {"en": "  "}}, "display_name"),
        ({"reset": ["password"]}, "reset"),
    ],
)
def test_bad_metadata_is_refused_naming_the_field_and_nothing_changes(
    script, client_for, body, field
):
    before = Script.objects.filter(pk=script.pk).values().get()
    response = put(client_for("dev_dora"), f"/api/scripts/{script.pk}/metadata", body)
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]
    assert Script.objects.filter(pk=script.pk).values().get() == before


def test_only_developers_edit(script, client_for):
    for name in ("op_otto", "vic_viewer"):
        client = client_for(name)
        assert (
            put(client, f"/api/scripts/{script.pk}/metadata", {"category": "x"}).status_code == 403
        )
        assert post(client, f"/api/scripts/{script.pk}/refresh-metadata").status_code == 403
        assert post(client, f"/api/script-groups/{script.group_id}/refresh").status_code == 403
        assert (
            put(client, f"/api/scripts/{script.pk}/description-long", {"markdown": "x"}).status_code
            == 403
        )
        assert post(client, "/api/conda/refresh").status_code == 403


def test_docs_save_read_and_fall_back_to_english(script, client_for):
    client = client_for("dev_dora")
    missing = client.get(f"/api/scripts/{script.pk}/description-long").json()
    assert missing["exists"] is False
    saved = put(
        client,
        f"/api/scripts/{script.pk}/description-long",
        {"markdown": "# Title\n\nText $x_1$", "language": "en"},
    )
    assert saved.status_code == 200
    assert (script.group.path / "docs" / "calc.md").read_text() == "# Title\n\nText $x_1$"
    spanish = client.get(f"/api/scripts/{script.pk}/description-long?language=es").json()
    assert spanish["language"] == "en" and spanish["exists"]
    assert "<h1" in spanish["html"] and "x_1" in spanish["html"]
    assert AuditEvent.objects.filter(action="docs_edited").exists()


def test_docs_are_sanitised_on_read_and_preview(script, client_for):
    client = client_for("dev_dora")
    evil = (
        "<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n"
        '<img src=x onerror=alert(1)>\n\n<iframe src="//e"></iframe>'
    )
    put(client, f"/api/scripts/{script.pk}/description-long", {"markdown": evil})
    for html in (
        client_for("op_otto").get(f"/api/scripts/{script.pk}/description-long").json()["html"],
        post(
            client, f"/api/scripts/{script.pk}/description-long/preview", {"markdown": evil}
        ).json()["html"],
    ):
        lowered = html.lower()
        assert "<script" not in lowered and "javascript:" not in lowered
        assert "onerror" not in lowered and "<iframe" not in lowered


def test_a_template_is_generated_on_request_once(script, client_for):
    client = client_for("dev_dora")
    first = post(client, f"/api/scripts/{script.pk}/description-long/template", {"language": "it"})
    assert first.status_code == 200
    assert "n" in first.json()["markdown"] and (script.group.path / "docs" / "calc_it.md").exists()
    again = post(client, f"/api/scripts/{script.pk}/description-long/template", {"language": "it"})
    assert again.status_code == 409


def test_an_unknown_doc_language_is_a_400(script, client_for):
    response = client_for("dev_dora").get(f"/api/scripts/{script.pk}/description-long?language=de")
    assert response.status_code == 400 and "“de”" in response.json()["detail"]


def test_personal_tags_are_private_validated_and_searchable(script, client_for):
    otto, olga = client_for("op_otto"), client_for("op_olga")
    assert put(
        otto, f"/api/scripts/{script.pk}/tags", {"tags": ["Mine", "mine", "report"]}
    ).json() == {
        "system": ["alpha", "beta"],
        "personal": ["Mine", "report"],
    }
    assert olga.get(f"/api/scripts/{script.pk}/tags").json()["personal"] == []
    bad = put(otto, f"/api/scripts/{script.pk}/tags", {"tags": ["has space", "x" * 31]})
    assert bad.status_code == 400 and "has space" in bad.json()["detail"]
    assert otto.get(f"/api/scripts/{script.pk}/tags").json()["personal"] == ["Mine", "report"]
    assert [
        s["id"] for s in otto.get("/api/scripts/search-tags?tags=alpha,mine&match=all").json()
    ] == [script.pk]
    assert olga.get("/api/scripts/search-tags?tags=alpha,mine&match=all").json() == []
    assert len(olga.get("/api/scripts/search-tags?tags=alpha,mine&match=any").json()) == 1
    assert otto.get("/api/user/tags").json() == [
        {"tag": "Mine", "count": 1},
        {"tag": "report", "count": 1},
    ]
    assert otto.get("/api/scripts/search-tags?tags=").status_code == 400


def test_the_group_environment_must_resolve(script, client_for, tmp_path):
    client = client_for("dev_dora")
    bad = post(
        client, f"/api/script-groups/{script.group_id}/conda", {"environment": "no-such-env"}
    )
    assert bad.status_code == 400 and "no-such-env" in bad.json()["detail"]
    assert ScriptGroup.objects.get().conda_environment == ""
    ok = post(
        client, f"/api/script-groups/{script.group_id}/conda", {"environment": sys.executable}
    )
    assert ok.status_code == 200
    assert ok.json()["environment"]["status"] == "available"
    assert AuditEvent.objects.filter(action="environment_changed").exists()


def test_writes_need_the_csrf_token(script, personas, csrf_client):
    csrf_client.force_login(personas["dev_dora"])
    response = csrf_client.put(
        f"/api/scripts/{script.pk}/metadata",
        json.dumps({"category": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Script.objects.get().category == ""
