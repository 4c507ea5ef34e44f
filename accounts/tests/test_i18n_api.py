def test_languages_lists_the_four_languages(client_for):
    body = client_for("vic_viewer").get("/api/i18n/languages").json()
    assert [lang["code"] for lang in body["languages"]] == ["en", "es", "it", "fr"]
    assert body["default"] == "en" and body["current"] == "en"
    assert {lang["name_local"] for lang in body["languages"]} == {
        "English",
        "Español",
        "Italiano",
        "Français",
    }


def test_the_catalog_of_a_language_is_translated(client_for):
    client = client_for("vic_viewer")
    italian = client.get("/api/i18n/it").json()
    key = "Your theme could not be saved. Check your connection and try again."
    assert italian["catalog"][key] != key
    assert italian["formats"]
    assert client.get("/api/i18n/en").status_code == 200


def test_an_unknown_language_is_a_404_naming_it(client_for):
    response = client_for("vic_viewer").get("/api/i18n/de")
    assert response.status_code == 404
    assert "“de”" in response.json()["detail"]


def test_the_i18n_api_needs_a_login(db, client):
    assert client.get("/api/i18n/languages").status_code == 401
