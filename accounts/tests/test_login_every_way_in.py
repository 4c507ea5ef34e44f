"""One throttle for every way in: the login page, the API, the Django admin and
any other caller of django.contrib.auth.authenticate()."""

import json

from django.contrib.auth import authenticate
from django.test import RequestFactory

from accounts.models import AuditEvent
from scriptsmanager.testing import PERSONA_PASSWORD


def admin_login(client, password, address="10.3.3.3"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "ada_admin", "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def test_the_admin_login_refuses_the_right_password_after_repeated_failures(
    personas, client, settings
):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 5
    for _ in range(12):
        assert admin_login(client, "wrong").status_code == 200
    response = admin_login(client, PERSONA_PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "Too many failed login attempts" in page
    assert "Please enter the correct username" not in page
    # Only the password checks are failures; the refused tries are one burst.
    assert AuditEvent.objects.filter(action="login_failed", ip_address="10.3.3.3").count() == 5
    assert AuditEvent.objects.filter(action="login_throttled").count() == 1


def test_the_admin_login_still_logs_in_an_admin(personas, client):
    response = admin_login(client, PERSONA_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(personas["ada_admin"].pk)


def test_failures_on_one_way_in_count_on_every_other(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 5
    for _ in range(3):
        admin_login(client, "wrong", address="10.3.3.4")
    for _ in range(2):
        response = client.post(
            "/api/auth/login",
            json.dumps({"username": "ada_admin", "password": "wrong"}),
            content_type="application/json",
            REMOTE_ADDR="10.3.3.4",
        )
        assert response.status_code == 401
    page = client.post(
        "/accounts/login/",
        {"username": "ada_admin", "password": PERSONA_PASSWORD},
        REMOTE_ADDR="10.3.3.4",
    )
    assert page.status_code == 429
    assert "Too many failed login attempts" in page.content.decode()


def test_any_caller_of_authenticate_goes_through_the_throttle(personas, settings):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 5
    attacker = RequestFactory().post("/somewhere", REMOTE_ADDR="10.4.4.4")
    for _ in range(5):
        assert authenticate(attacker, username="op_otto", password="wrong") is None
    assert authenticate(attacker, username="op_otto", password=PERSONA_PASSWORD) is None
    assert attacker.login_refusal.retry_after > 0
    elsewhere = RequestFactory().post("/somewhere", REMOTE_ADDR="10.4.4.5")
    assert authenticate(elsewhere, username="op_otto", password=PERSONA_PASSWORD) is not None
    assert AuditEvent.objects.filter(action="login_failed").count() == 5
