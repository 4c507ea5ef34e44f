import json
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from scriptsmanager.testing import PERSONA_PASSWORD


def api_login(client: Client, username: str, password: str):
    client.get("/api/auth/user")  # sets the CSRF cookie, as an API client would
    return client.post(
        "/api/auth/login",
        json.dumps({"username": username, "password": password}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )


def test_the_login_page_logs_in_and_redirects_to_next(personas, csrf_client):
    page = csrf_client.get("/accounts/login/?next=/accounts/profile/")
    assert page.status_code == 200
    response = csrf_client.post(
        "/accounts/login/",
        {
            "username": "op_otto",
            "password": PERSONA_PASSWORD,
            "next": "/accounts/profile/",
            "csrfmiddlewaretoken": csrf_client.cookies["csrftoken"].value,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    assert csrf_client.get("/").status_code == 200
    personas["op_otto"].refresh_from_db()
    assert personas["op_otto"].last_login is not None


def test_the_login_page_refuses_an_outside_next_url(personas, client):
    response = client.post(
        "/accounts/login/",
        {"username": "op_otto", "password": PERSONA_PASSWORD, "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_shows_one_message_for_every_failure(personas, client):
    wrong = client.post("/accounts/login/", {"username": "op_otto", "password": "nope"})
    missing = client.post("/accounts/login/", {"username": "nobody", "password": "nope"})
    assert wrong.status_code == missing.status_code == 401
    assert "Invalid username or password." in wrong.content.decode()
    assert "Invalid username or password." in missing.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_empty_form_names_the_missing_fields(db, client):
    response = client.post("/accounts/login/", {"username": "", "password": ""})
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"username", "password"}


def test_usernames_are_case_insensitive_at_login(personas, client):
    response = client.post(
        "/accounts/login/", {"username": "OP_Otto", "password": PERSONA_PASSWORD}
    )
    assert response.status_code == 302


def test_an_inactive_user_cannot_log_in(personas, client):
    otto = personas["op_otto"]
    otto.is_active = False
    otto.save()
    response = client.post(
        "/accounts/login/", {"username": "op_otto", "password": PERSONA_PASSWORD}
    )
    assert response.status_code == 401
    assert "Invalid username or password." in response.content.decode()


def test_api_login_user_and_logout(personas, csrf_client):
    anonymous = csrf_client.get("/api/auth/user")
    assert anonymous.status_code == 200
    assert anonymous.json()["authenticated"] is False
    assert "csrftoken" in anonymous.cookies

    response = api_login(csrf_client, "dev_dora", PERSONA_PASSWORD)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["authenticated"] is True
    assert body["user"]["username"] == "dev_dora"
    assert body["user"]["user_level"] == "developer"
    assert "password" not in body["user"]

    me = csrf_client.get("/api/auth/user").json()
    assert me["user"]["username"] == "dev_dora"

    logout = csrf_client.post(
        "/api/auth/logout", HTTP_X_CSRFTOKEN=csrf_client.cookies["csrftoken"].value
    )
    assert logout.status_code == 200
    assert csrf_client.get("/api/auth/user").json()["authenticated"] is False
    assert csrf_client.post("/api/user/preferences").status_code in (401, 403)


def test_api_login_with_wrong_credentials_is_401(personas, csrf_client):
    response = api_login(csrf_client, "dev_dora", "wrong")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid username or password."


def test_api_login_with_missing_fields_names_them(db, csrf_client):
    csrf_client.get("/api/auth/user")
    response = csrf_client.post(
        "/api/auth/login",
        json.dumps({"username": "dev_dora"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf_client.cookies["csrftoken"].value,
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["password"]
    assert "password" in response.json()["detail"]


def test_api_login_with_malformed_json_says_so(db, csrf_client):
    csrf_client.get("/api/auth/user")
    response = csrf_client.post(
        "/api/auth/login",
        "{username: dev_dora",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf_client.cookies["csrftoken"].value,
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_the_logout_page_needs_post(personas, client_for):
    client = client_for("op_otto")
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_sessions_expire_after_the_configured_age(personas, client):
    assert settings.SESSION_COOKIE_AGE == 43200
    response = client.post(
        "/accounts/login/", {"username": "op_otto", "password": PERSONA_PASSWORD}
    )
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE
    assert client.get("/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/").status_code == 302
    assert client.get("/api/auth/user").json()["authenticated"] is False
