import json

from accounts.models import AuditEvent, User
from scriptsmanager.testing import PERSONA_PASSWORD


def audit_lines(settings, name):
    path = settings.AUDIT_LOG_DIR / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_logins_failures_and_logouts_are_audited(personas, client, settings):
    client.post(
        "/accounts/login/", {"username": "op_otto", "password": "bad"}, REMOTE_ADDR="10.2.3.4"
    )
    client.post("/accounts/login/", {"username": "op_otto", "password": PERSONA_PASSWORD})
    client.post("/accounts/logout/")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_username"))
    assert actions == [("login_failed", "op_otto"), ("login", "op_otto"), ("logout", "op_otto")]
    assert AuditEvent.objects.get(action="login_failed").ip_address == "10.2.3.4"
    lines = audit_lines(settings, "user_actions.log")
    assert [line["action"] for line in lines] == ["login_failed", "login", "logout"]
    assert lines[0]["address"] == "10.2.3.4"


def test_admin_user_management_is_audited(personas, client_for, settings):
    admin = client_for("ada_admin")
    otto = personas["op_otto"]
    response = admin.post(
        f"/admin/accounts/user/{otto.pk}/change/",
        {
            "username": "op_otto",
            "email": "op_otto@example.com",
            "user_level": "developer",
            "is_active": "",
            "preferred_language": "en",
            "preferred_theme": "light",
            "first_name": "",
            "last_name": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    otto.refresh_from_db()
    assert otto.user_level == "developer" and not otto.is_active
    level = AuditEvent.objects.get(action="user_level_changed")
    assert level.details == {"from": "operator", "to": "developer"}
    assert level.actor_username == "ada_admin" and level.target_repr == "op_otto"
    assert AuditEvent.objects.filter(action="user_deactivated", target_id=str(otto.pk)).exists()
    assert {line["action"] for line in audit_lines(settings, "admin_actions.log")} == {
        "user_level_changed",
        "user_deactivated",
    }


def test_admin_creates_a_user_and_resets_a_password(personas, client_for):
    admin = client_for("ada_admin")
    response = admin.post(
        "/admin/accounts/user/add/",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "user_level": "operator",
            "preferred_language": "es",
            "preferred_theme": "dark",
            "password1": "a-long-new-password-42",
            "password2": "a-long-new-password-42",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    newbie = User.objects.get(username="newbie")
    assert newbie.user_level == "operator" and newbie.check_password("a-long-new-password-42")
    assert AuditEvent.objects.filter(action="user_created", target_repr="newbie").exists()

    response = admin.post(
        f"/admin/accounts/user/{newbie.pk}/password/",
        {
            "password1": "another-long-pass-43",
            "password2": "another-long-pass-43",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    newbie.refresh_from_db()
    assert newbie.check_password("another-long-pass-43")
    assert AuditEvent.objects.filter(action="password_reset", target_repr="newbie").exists()


def test_the_admin_form_names_a_duplicate_username_or_email_and_saves_nothing(personas, client_for):
    admin = client_for("ada_admin")
    before = User.objects.count()
    for field, value, message in [
        ("username", "OP_OTTO", "A user with that username already exists."),
        ("email", "OP_OTTO@example.com", "A user with that email address already exists."),
    ]:
        data = {
            "username": "fresh",
            "email": "fresh@example.com",
            "user_level": "viewer",
            "preferred_language": "en",
            "preferred_theme": "light",
            "password1": "a-long-new-password-42",
            "password2": "a-long-new-password-42",
            "usable_password": "true",
            field: value,
        }
        response = admin.post("/admin/accounts/user/add/", data)
        assert response.status_code == 200
        assert message in response.content.decode()
    data["email"] = "fresh@example.com"
    data["user_level"] = "root"
    response = admin.post("/admin/accounts/user/add/", data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert User.objects.count() == before


def test_the_admin_user_list_filters_by_level_and_searches(personas, client_for):
    admin = client_for("ada_admin")
    page = admin.get("/admin/accounts/user/?user_level__exact=operator").content.decode()
    assert "op_otto" in page and "op_olga" in page and "dev_dora" not in page
    page = admin.get("/admin/accounts/user/?q=dora").content.decode()
    assert "dev_dora" in page and "op_otto" not in page
    assert admin.get("/admin/accounts/user/?is_active__exact=1").status_code == 200


def test_non_admins_cannot_open_the_admin(client_for):
    response = client_for("dev_dora").get("/admin/accounts/user/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admins_read_the_audit_trail_through_the_api(personas, client, client_for):
    client.post("/accounts/login/", {"username": "op_otto", "password": "bad"})
    client.post("/accounts/login/", {"username": "dev_dora", "password": PERSONA_PASSWORD})
    api = client_for("ada_admin")
    everything = api.get("/api/admin/logs/audit").json()
    assert everything["count"] == 2
    assert [item["action"] for item in everything["items"]] == ["login", "login_failed"]
    filtered = api.get("/api/admin/logs/audit?action=login_failed&username=OP_OTTO").json()
    assert [item["actor_username"] for item in filtered["items"]] == ["op_otto"]
    bad = api.get("/api/admin/logs/audit?since=yesterday")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "since"


def test_the_audit_admin_is_read_only(personas, client_for):
    event = AuditEvent.objects.create(action="login", actor_username="x")
    admin = client_for("ada_admin")
    assert admin.get("/admin/accounts/auditevent/").status_code == 200
    assert admin.get("/admin/accounts/auditevent/add/").status_code == 403
    assert (
        admin.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
