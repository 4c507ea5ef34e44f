"""Every page needs a login, except the login page and /health; the API
document and its browser are for logged-in users and use no CDN."""

import re
from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/accounts/profile/", "/accounts/password/"])
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_an_anonymous_visitor_of_the_admin_is_sent_to_a_login_page(client):
    response = client.get("/admin/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"] or "/admin/login/" in response["Location"]


@pytest.mark.parametrize("path", ["/accounts/login/", "/health"])
def test_the_login_page_and_health_are_open_to_anonymous_visitors(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/openapi.json", "/api/docs"])
def test_the_api_document_is_not_given_to_anonymous_visitors(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert b'"openapi"' not in response.content
    assert b"swagger" not in response.content.lower()


def test_a_logged_in_user_gets_the_api_document_listing_the_endpoints(client_for):
    response = client_for("op_otto").get("/api/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert {
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/user",
        "/api/user/preferences",
        "/api/i18n/languages",
        "/api/admin/logs/audit",
    } <= set(document["paths"])


class _AssetCollector(HTMLParser):
    """The src of every <script> and the href of every <link>."""

    def __init__(self):
        super().__init__()
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.assets.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.assets.append(attributes["href"])


def test_the_api_browser_loads_only_local_static_files(client_for):
    client = client_for("op_otto")
    response = client.get("/api/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"https?://", html), "the API browser references a remote URL"
    collector = _AssetCollector()
    collector.feed(html)
    assert collector.assets, "the API browser loads no script or stylesheet"
    for asset in collector.assets:
        assert asset.startswith("/static/"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()


def test_an_unknown_page_answers_404_inside_the_app_layout(client, client_for):
    for visitor in (client, client_for("op_otto")):
        response = visitor.get("/no-such-page/")

        assert response.status_code == 404
        html = response.content.decode()
        assert "Traceback" not in html
        assert "sm-navbar" in html
        assert "sm-footer" in html
        assert "SIDEL ScriptsManager" in html


def test_an_unknown_api_path_answers_404(client, client_for):
    assert client.get("/api/no-such-endpoint").status_code == 404
    response = client_for("op_otto").get("/api/no-such-endpoint")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": []}
