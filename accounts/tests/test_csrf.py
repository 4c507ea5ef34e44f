import json

import pytest

from scriptsmanager.testing import PERSONA_PASSWORD


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/login", {"username": "op_otto", "password": PERSONA_PASSWORD}),
        ("/api/auth/logout", {}),
    ],
)
def test_anonymous_api_posts_need_the_csrf_token(personas, csrf_client, path, body):
    csrf_client.get("/api/auth/user")
    response = csrf_client.post(path, json.dumps(body), content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_logged_in_api_post_without_the_token_is_refused_and_changes_nothing(
    personas, csrf_client
):
    csrf_client.force_login(personas["op_otto"])
    csrf_client.get("/api/auth/user")
    response = csrf_client.post(
        "/api/user/preferences", json.dumps({"theme": "dark"}), content_type="application/json"
    )
    assert response.status_code == 403
    personas["op_otto"].refresh_from_db()
    assert personas["op_otto"].preferred_theme == "light"

    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        "/api/user/preferences",
        json.dumps({"theme": "dark"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200
    personas["op_otto"].refresh_from_db()
    assert personas["op_otto"].preferred_theme == "dark"


def test_a_wrong_token_is_refused(personas, csrf_client):
    csrf_client.get("/api/auth/user")
    response = csrf_client.post(
        "/api/auth/login",
        json.dumps({"username": "op_otto", "password": PERSONA_PASSWORD}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN="x" * 64,
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in csrf_client.session


def test_pages_refuse_a_post_without_the_token(personas, csrf_client):
    response = csrf_client.post(
        "/accounts/login/", {"username": "op_otto", "password": PERSONA_PASSWORD}
    )
    assert response.status_code == 403
    assert "_auth_user_id" not in csrf_client.session
    csrf_client.force_login(personas["op_otto"])
    assert csrf_client.post("/accounts/preferences/", {"theme": "dark"}).status_code == 403
    assert csrf_client.post("/accounts/logout/").status_code == 403
