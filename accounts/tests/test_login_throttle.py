import json
from datetime import timedelta

from django.utils import timezone

from accounts.models import AuditEvent, LoginThrottle
from scriptsmanager.testing import PERSONA_PASSWORD


def fail(client, username, address="10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": "wrong"}, REMOTE_ADDR=address
    )


def login(client, username, address):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": PERSONA_PASSWORD},
        REMOTE_ADDR=address,
    )


def api_login(client, username, password, address):
    return client.post(
        "/api/auth/login",
        json.dumps({"username": username, "password": password}),
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def audit_lines(settings, action):
    path = settings.AUDIT_LOG_DIR / "user_actions.log"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [line for line in lines if line["action"] == action]


# Issue 11 item 3 changed this: five failures used to lock the account from
# every address; now they lock only the (account, address) pair.
def test_five_failures_from_one_address_refuse_the_right_password_from_there(
    personas, client, settings
):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 5
    for _ in range(5):
        assert fail(client, "op_otto").status_code == 401
    response = login(client, "op_otto", "10.0.0.1")
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The other operator, from the same address, is not affected.
    assert login(client, "op_olga", "10.0.0.1").status_code == 302


def test_an_attacker_cannot_lock_the_owner_out_from_their_own_machine(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 5
    for _ in range(8):
        fail(client, "op_otto", "10.6.6.6")
    assert fail(client, "op_otto", "10.6.6.6").status_code == 429
    response = login(client, "op_otto", "10.0.0.5")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(personas["op_otto"].pk)


def test_failures_for_a_name_that_does_not_exist_yet_do_not_lock_it(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 5
    for _ in range(6):
        fail(client, "newcomer", "10.6.6.6")
    personas["op_otto"].__class__.objects.create_user(
        username="newcomer", email="newcomer@example.com", password=PERSONA_PASSWORD
    )
    assert login(client, "newcomer", "10.0.0.7").status_code == 302


def test_many_addresses_only_slow_the_account_with_a_capped_back_off(personas, client, settings):
    settings.LOGIN_BACKOFF_AFTER = 3
    settings.LOGIN_BACKOFF_BASE_SECONDS = 20
    settings.LOGIN_BACKOFF_MAX_SECONDS = 30
    assert login(client, "op_otto", "10.0.0.5").status_code == 302  # the owner's machine
    client.logout()
    account = LoginThrottle.objects.filter(scope="account", username="op_otto")
    for number in range(10):
        account.update(blocked_until=None)  # as if each back-off had passed
        assert fail(client, "op_otto", f"10.7.0.{number}").status_code == 401
    refused = api_login(client, "op_otto", PERSONA_PASSWORD, "10.8.0.1")
    assert refused.status_code == 429
    # Doubling from 20 s would be 20 * 2**6 s by now; the cap holds it at 30.
    assert 0 < int(refused["Retry-After"]) <= 30
    assert "Try again in" in refused.json()["detail"]
    assert "second" in refused.json()["detail"]
    # The owner, from the machine they logged in from before, is not slowed.
    assert api_login(client, "op_otto", PERSONA_PASSWORD, "10.0.0.5").status_code == 200
    # and the success ends the back-off for everybody.
    assert api_login(client, "op_otto", PERSONA_PASSWORD, "10.8.0.1").status_code == 200


def test_the_back_off_ends_by_itself(personas, client, settings):
    settings.LOGIN_BACKOFF_AFTER = 2
    settings.LOGIN_BACKOFF_BASE_SECONDS = 20
    for number in range(3):
        fail(client, "op_otto", f"10.7.1.{number}")
    assert login(client, "op_otto", "10.8.1.1").status_code == 429
    LoginThrottle.objects.filter(scope="account").update(
        blocked_until=timezone.now() - timedelta(seconds=1)
    )
    assert login(client, "op_otto", "10.8.1.1").status_code == 302


def test_an_unknown_account_is_throttled_the_same_way(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 3
    known = [fail(client, "op_otto", "10.0.0.1").status_code for _ in range(4)]
    unknown = [fail(client, "ghost", "10.0.0.9").status_code for _ in range(4)]
    assert known == unknown == [401, 401, 401, 429]
    assert fail(client, "ghost", "10.0.0.9").content.decode().count("Too many") == 1


def test_one_address_probing_many_accounts_is_throttled(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_ADDRESS = 4
    for name in ("a", "b", "c", "d"):
        assert fail(client, name, "10.9.9.9").status_code == 401
    assert login(client, "op_otto", "10.9.9.9").status_code == 429
    assert login(client, "op_otto", "10.1.1.1").status_code == 302


# The failures now live in LoginThrottle rows, not in the audit trail: the
# test ages those instead of the audit events.
def test_the_lock_ends_when_the_failures_leave_the_window(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 2
    settings.LOGIN_THROTTLE_WINDOW = 600
    fail(client, "op_otto")
    fail(client, "op_otto")
    assert fail(client, "op_otto").status_code == 429
    LoginThrottle.objects.update(window_started_at=timezone.now() - timedelta(seconds=601))
    assert login(client, "op_otto", "10.0.0.1").status_code == 302


def test_a_successful_login_clears_the_account_count(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 3
    fail(client, "op_otto")
    fail(client, "op_otto")
    assert login(client, "op_otto", "10.0.0.1").status_code == 302
    client.logout()
    assert fail(client, "op_otto").status_code == 401
    assert fail(client, "op_otto").status_code == 401


def test_the_api_answers_429_with_retry_after(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 1
    assert api_login(client, "dev_dora", "wrong", "10.0.0.1").status_code == 401
    response = api_login(client, "dev_dora", "wrong", "10.0.0.1")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= settings.LOGIN_THROTTLE_WINDOW
    assert "Too many failed login attempts" in response.json()["detail"]
    assert "minutes" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="login_throttled", actor_username="dev_dora").exists()


def test_a_throttled_burst_is_audited_once_per_window_with_a_count(personas, client, settings):
    settings.LOGIN_THROTTLE_MAX_PER_PAIR = 5
    settings.LOGIN_THROTTLE_WINDOW = 600
    for _ in range(5):
        fail(client, "op_otto", "10.5.5.5")
    for _ in range(200):
        assert fail(client, "op_otto", "10.5.5.5").status_code == 429
    burst = AuditEvent.objects.get(action="login_throttled")
    assert burst.details["count"] == 200
    assert burst.ip_address == "10.5.5.5" and burst.actor_username == "op_otto"
    assert len(audit_lines(settings, "login_throttled")) == 1
    assert AuditEvent.objects.filter(action="login_failed").count() == 5

    # The next window's burst is a new event.
    past = timezone.now() - timedelta(seconds=601)
    LoginThrottle.objects.update(window_started_at=past)
    AuditEvent.objects.update(created_at=past)
    for _ in range(5):
        fail(client, "op_otto", "10.5.5.5")
    for _ in range(3):
        fail(client, "op_otto", "10.5.5.5")
    counts = list(
        AuditEvent.objects.filter(action="login_throttled")
        .order_by("id")
        .values_list("details__count", flat=True)
    )
    assert counts == [200, 3]
    assert len(audit_lines(settings, "login_throttled")) == 2
