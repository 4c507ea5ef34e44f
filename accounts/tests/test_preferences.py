import json

import pytest


def post_prefs(client, body):
    return client.post("/api/user/preferences", json.dumps(body), content_type="application/json")


def test_the_api_stores_language_and_theme(client_for, personas):
    response = post_prefs(client_for("op_otto"), {"language": "it", "theme": "dark"})
    assert response.status_code == 200
    assert response.json()["preferred_language"] == "it"
    personas["op_otto"].refresh_from_db()
    assert (personas["op_otto"].preferred_language, personas["op_otto"].preferred_theme) == (
        "it",
        "dark",
    )


@pytest.mark.parametrize(
    ("body", "bad_fields"),
    [
        ({"language": "de"}, ["language"]),
        ({"theme": "blue"}, ["theme"]),
        ({"language": "xx", "theme": "dark"}, ["language"]),
        ({"language": "es", "theme": "neon"}, ["theme"]),
        ({"language": 3, "theme": "sepia"}, ["language"]),
    ],
)
def test_an_unknown_value_is_refused_naming_the_field_and_nothing_changes(
    client_for, personas, body, bad_fields
):
    response = post_prefs(client_for("op_otto"), body)
    assert response.status_code == 400
    assert sorted(e["field"] for e in response.json()["errors"]) == bad_fields
    personas["op_otto"].refresh_from_db()
    assert (personas["op_otto"].preferred_language, personas["op_otto"].preferred_theme) == (
        "en",
        "light",
    )


def test_an_empty_body_asks_for_a_value(client_for):
    response = post_prefs(client_for("op_otto"), {})
    assert response.status_code == 400
    assert "language" in response.json()["detail"]


def test_api_errors_speak_the_users_language(client_for, personas):
    client = client_for("op_otto")
    post_prefs(client, {"language": "fr"})
    response = post_prefs(client, {"theme": "blue"})
    assert response.status_code == 400
    assert "Thème inconnu" in response.json()["detail"]


def test_the_header_menu_switches_language_and_keeps_it_on_the_account(client_for, personas):
    client = client_for("op_otto")
    response = client.post(
        "/accounts/preferences/", {"language": "es", "next": "/accounts/profile/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    page = client.get("/accounts/profile/")
    assert '<html lang="es"' in page.content.decode()
    assert "Perfil" in page.content.decode()
    personas["op_otto"].refresh_from_db()
    assert personas["op_otto"].preferred_language == "es"


def test_the_stored_language_wins_over_the_browser(client_for, personas):
    personas["op_otto"].preferred_language = "it"
    personas["op_otto"].save()
    page = client_for("op_otto").get("/", HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="it"' in page.content.decode()


def test_the_page_form_shows_a_translated_error_for_an_unknown_value(client_for, personas):
    client = client_for("op_otto")
    client.post("/accounts/preferences/", {"language": "it"})
    response = client.post("/accounts/preferences/", {"theme": "purple"}, follow=True)
    assert "Tema sconosciuto" in response.content.decode()
    personas["op_otto"].refresh_from_db()
    assert personas["op_otto"].preferred_theme == "light"


def test_the_theme_is_rendered_on_the_html_element(client_for, personas):
    client = client_for("vic_viewer")
    assert 'data-bs-theme="light"' in client.get("/").content.decode()
    client.post("/accounts/preferences/", {"theme": "dark"})
    assert '<html lang="en" data-bs-theme="dark"' in client.get("/").content.decode()


def test_anonymous_visitors_keep_their_choice_in_cookies(db, client):
    response = client.post(
        "/accounts/preferences/", {"language": "fr", "theme": "dark", "next": "/accounts/login/"}
    )
    assert response.status_code == 302
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="fr" data-bs-theme="dark"' in page
    assert "Se connecter" in page or "Connexion" in page


def test_an_outside_next_url_is_ignored(client_for):
    response = client_for("op_otto").post(
        "/accounts/preferences/", {"theme": "dark", "next": "https://evil.example/x"}
    )
    assert response["Location"] == "/"


def test_the_admin_follows_the_chosen_theme(client_for, personas):
    client = client_for("ada_admin")
    client.post("/accounts/preferences/", {"theme": "dark"})
    page = client.get("/admin/").content.decode()
    assert 'src="/static/js/admin-theme.js" data-theme="dark"' in page
