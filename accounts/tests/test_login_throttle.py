from datetime import timedelta

from django.utils import timezone

from accounts.models import AuditEvent
from scriptsmanager.testing import PERSONA_PASSWORD


def fail(client, username, address="10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": "wrong"}, REMOTE_ADDR=address
    )


def test_five_failures_lock_the_account_even_with_the_right_password(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_USER = 5
    for _ in range(5):
        assert fail(client, "op_otto").status_code == 401
    response = client.post(
        "/accounts/login/",
        {"username": "op_otto", "password": PERSONA_PASSWORD},
        REMOTE_ADDR="10.0.0.2",
    )
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The other operator, from the same address, is not affected.
    other = client.post(
        "/accounts/login/",
        {"username": "op_olga", "password": PERSONA_PASSWORD},
        REMOTE_ADDR="10.0.0.1",
    )
    assert other.status_code == 302


def test_an_unknown_account_is_throttled_the_same_way(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_USER = 3
    known = [fail(client, "op_otto", "10.0.0.1").status_code for _ in range(4)]
    unknown = [fail(client, "ghost", "10.0.0.9").status_code for _ in range(4)]
    assert known == unknown == [401, 401, 401, 429]
    assert fail(client, "ghost", "10.0.0.9").content.decode().count("Too many") == 1


def test_one_address_probing_many_accounts_is_throttled(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_ADDRESS = 4
    for name in ("a", "b", "c", "d"):
        assert fail(client, name, "10.9.9.9").status_code == 401
    response = client.post(
        "/accounts/login/",
        {"username": "op_otto", "password": PERSONA_PASSWORD},
        REMOTE_ADDR="10.9.9.9",
    )
    assert response.status_code == 429
    ok = client.post(
        "/accounts/login/",
        {"username": "op_otto", "password": PERSONA_PASSWORD},
        REMOTE_ADDR="10.1.1.1",
    )
    assert ok.status_code == 302


def test_the_lock_ends_when_the_failures_leave_the_window(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_USER = 2
    settings.LOGIN_THROTTLE_WINDOW = 600
    fail(client, "op_otto")
    fail(client, "op_otto")
    assert fail(client, "op_otto").status_code == 429
    AuditEvent.objects.update(created_at=timezone.now() - timedelta(seconds=601))
    response = client.post(
        "/accounts/login/", {"username": "op_otto", "password": PERSONA_PASSWORD}
    )
    assert response.status_code == 302


def test_a_successful_login_clears_the_account_count(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_USER = 3
    fail(client, "op_otto")
    fail(client, "op_otto")
    assert (
        client.post(
            "/accounts/login/", {"username": "op_otto", "password": PERSONA_PASSWORD}
        ).status_code
        == 302
    )
    client.logout()
    assert fail(client, "op_otto").status_code == 401
    assert fail(client, "op_otto").status_code == 401


def test_the_api_answers_429_with_retry_after(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_USER = 1
    payload = {"username": "dev_dora", "password": "wrong"}
    assert (
        client.post("/api/auth/login", payload, content_type="application/json").status_code == 401
    )
    response = client.post("/api/auth/login", payload, content_type="application/json")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= settings.LOGIN_THROTTLE_WINDOW
    assert "Too many failed login attempts" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="login_throttled", actor_username="dev_dora").exists()
