import pytest

from accounts import services_admin
from accounts.models import AuditEvent, User
from accounts.tests.conftest import send

NEW_USER = {
    "username": "new_nina",
    "email": "Nina@Example.com",
    "password": "a-long-and-unusual-passphrase",
    "user_level": "operator",
    "preferred_language": "it",
    "preferred_theme": "dark",
    "is_active": True,
}


def endpoints(user_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", "/api/admin/users", None),
        ("post", "/api/admin/users", NEW_USER),
        ("put", f"/api/admin/users/{user_id}", {"user_level": "admin"}),
        ("delete", f"/api/admin/users/{user_id}", None),
        ("get", f"/api/admin/users/{user_id}/projects", None),
        ("post", f"/api/admin/users/{user_id}/reset-data", {"confirm": True}),
    ]


@pytest.mark.parametrize("persona", ["dev_dora", "op_otto", "vic_viewer"])
def test_it_refuses_non_admins_on_every_endpoint(persona, personas, client_for, data_root):
    client = client_for(persona)
    target = personas["op_olga"]
    expected = client.get("/api/admin/logs/audit")
    for method, path, body in endpoints(target.pk):
        response = send(client, method, path, body)
        assert response.status_code == 403, (method, path)
        assert response.json() == expected.json()
    assert not User.objects.filter(username="new_nina").exists()
    target.refresh_from_db()
    assert target.user_level == "operator"
    assert not AuditEvent.objects.exists()


def test_anonymous_callers_are_asked_to_log_in(personas, client):
    for method, path, body in endpoints(personas["op_olga"].pk):
        assert send(client, method, path, body).status_code == 401, (method, path)


def test_it_lists_filters_and_searches_users(personas, client_for):
    client = client_for("ada_admin")
    listed = client.get("/api/admin/users").json()
    assert listed["count"] == 5
    assert [u["username"] for u in listed["items"]] == sorted(personas)
    operators = client.get("/api/admin/users?level=operator").json()["items"]
    assert [u["username"] for u in operators] == ["op_olga", "op_otto"]
    personas["op_olga"].is_active = False
    personas["op_olga"].save()
    inactive = client.get("/api/admin/users?active=false").json()["items"]
    assert [u["username"] for u in inactive] == ["op_olga"]
    assert [u["username"] for u in client.get("/api/admin/users?q=DORA").json()["items"]] == [
        "dev_dora"
    ]
    by_email = client.get("/api/admin/users?q=vic_viewer@example").json()["items"]
    assert [u["username"] for u in by_email] == ["vic_viewer"]
    assert "password" not in listed["items"][0]
    assert client.get("/api/admin/users?level=wizard").status_code == 400


def test_it_creates_a_user_and_audits_it(personas, client_for):
    response = send(client_for("ada_admin"), "post", "/api/admin/users", NEW_USER)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "new_nina" and body["email"] == "nina@example.com"
    assert (body["user_level"], body["preferred_language"], body["preferred_theme"]) == (
        "operator",
        "it",
        "dark",
    )
    user = User.objects.get(username="new_nina")
    assert user.check_password(NEW_USER["password"]) and not user.is_staff
    event = AuditEvent.objects.get(action="user_created")
    assert event.actor_username == "ada_admin" and event.target_repr == "new_nina"


def test_bad_fields_are_all_named_and_nothing_is_created(personas, client_for):
    response = send(
        client_for("ada_admin"),
        "post",
        "/api/admin/users",
        {
            "username": "bad name!",
            "email": "not-an-email",
            "password": "123",
            "user_level": "wizard",
            "preferred_language": "de",
            "preferred_theme": "pink",
        },
    )
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {
        "username",
        "email",
        "password",
        "user_level",
        "preferred_language",
        "preferred_theme",
    }
    assert User.objects.count() == 5
    assert not AuditEvent.objects.exists()


def test_missing_fields_are_named(personas, client_for):
    response = send(client_for("ada_admin"), "post", "/api/admin/users", {})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"username", "email", "password"}


def test_the_password_validators_apply(personas, client_for):
    weak = {**NEW_USER, "password": "new_nina1"}  # too close to the username
    response = send(client_for("ada_admin"), "post", "/api/admin/users", weak)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["password"]
    common = {**NEW_USER, "password": "password123"}
    response = send(client_for("ada_admin"), "post", "/api/admin/users", common)
    assert "too common" in response.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"), [("username", "OP_Otto"), ("email", "Op_Otto@EXAMPLE.com")]
)
def test_usernames_and_emails_are_unique_regardless_of_case(personas, client_for, field, value):
    response = send(client_for("ada_admin"), "post", "/api/admin/users", {**NEW_USER, field: value})
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert User.objects.count() == 5


def test_a_level_change_is_audited(personas, client_for):
    otto = personas["op_otto"]
    response = send(
        client_for("ada_admin"), "put", f"/api/admin/users/{otto.pk}", {"user_level": "admin"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["user_level"] == "admin" and response.json()["is_staff"] is True
    otto.refresh_from_db()
    assert otto.is_superuser
    event = AuditEvent.objects.get(action="user_level_changed")
    assert event.details == {"from": "operator", "to": "admin"}
    assert event.actor_username == "ada_admin" and event.target_id == str(otto.pk)
    assert not AuditEvent.objects.filter(action="user_updated").exists()


def test_an_update_changes_only_the_given_fields_and_audits_each_kind(personas, client_for):
    otto = personas["op_otto"]
    client = client_for("ada_admin")
    response = send(
        client,
        "put",
        f"/api/admin/users/{otto.pk}",
        {"email": "OTTO@plant.example", "is_active": False, "password": "another-fine-phrase"},
    )
    assert response.status_code == 200, response.content
    otto.refresh_from_db()
    assert otto.email == "otto@plant.example" and not otto.is_active
    assert otto.user_level == "operator" and otto.preferred_theme == "light"
    assert otto.check_password("another-fine-phrase")
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert actions == {"user_deactivated", "user_updated", "password_reset"}
    updated = AuditEvent.objects.get(action="user_updated")
    assert updated.details == {"changed": {"email": ["op_otto@example.com", "otto@plant.example"]}}
    send(client, "put", f"/api/admin/users/{otto.pk}", {"is_active": True})
    assert AuditEvent.objects.filter(action="user_activated").count() == 1


def test_an_update_with_bad_fields_names_them_and_changes_nothing(personas, client_for):
    otto = personas["op_otto"]
    response = send(
        client_for("ada_admin"),
        "put",
        f"/api/admin/users/{otto.pk}",
        {"username": "OP_OLGA", "email": "x", "password": "1", "user_level": "admin"},
    )
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"username", "email", "password"}
    otto.refresh_from_db()
    assert otto.username == "op_otto" and otto.user_level == "operator"
    assert not AuditEvent.objects.exists()


def test_an_unknown_user_is_a_404(personas, client_for):
    client = client_for("ada_admin")
    assert client.get("/api/admin/users/9999/projects").status_code == 404
    assert send(client, "put", "/api/admin/users/9999", {"is_active": False}).status_code == 404
    assert client.delete("/api/admin/users/9999").status_code == 404


@pytest.mark.parametrize(
    ("method", "body", "word"),
    [
        ("delete", None, "delete"),
        ("put", {"user_level": "developer"}, "administrator level"),
        ("put", {"is_active": False}, "deactivate"),
    ],
)
def test_an_admin_cannot_remove_their_own_access(
    personas, client_for, data_root, method, body, word
):
    ada = personas["ada_admin"]
    response = send(client_for("ada_admin"), method, f"/api/admin/users/{ada.pk}", body)
    assert response.status_code == 400
    assert word in response.json()["detail"] and "own" in response.json()["detail"]
    ada.refresh_from_db()
    assert ada.user_level == "admin" and ada.is_active
    assert not AuditEvent.objects.filter(action__startswith="user_").exists()


def test_an_admin_keeps_their_session_after_changing_their_own_password(personas, client_for):
    client = client_for("ada_admin")
    ada = personas["ada_admin"]
    response = send(
        client, "put", f"/api/admin/users/{ada.pk}", {"password": "a-brand-new-passphrase"}
    )
    assert response.status_code == 200
    assert client.get("/api/admin/users").status_code == 200


def test_another_admin_can_be_demoted_while_one_active_admin_remains(personas, client_for):
    bob = User.objects.create_user(
        username="bob_admin", email="bob@example.com", user_level="admin"
    )
    response = send(
        client_for("ada_admin"), "put", f"/api/admin/users/{bob.pk}", {"user_level": "viewer"}
    )
    assert response.status_code == 200
    bob.refresh_from_db()
    assert bob.user_level == "viewer" and not bob.is_staff


@pytest.mark.parametrize(
    ("change", "action"),
    [({"user_level": "developer"}, "demote"), ({"is_active": False}, "deactivate")],
)
def test_the_last_active_admin_cannot_be_demoted_or_deactivated(personas, change, action):
    ada = personas["ada_admin"]
    # As from a management command: no acting admin, so only the last-admin rule applies.
    with pytest.raises(services_admin.UserChangeRefused) as refused:
        services_admin.user_update(user=ada, request=None, changes=change)
    assert refused.value.status == 409 and "last active administrator" in refused.value.message
    ada.refresh_from_db()
    assert ada.user_level == "admin" and ada.is_active


def test_the_last_active_admin_cannot_be_deleted(personas, data_root):
    ada = personas["ada_admin"]
    User.objects.create_user(
        username="old_admin", email="old@example.com", user_level="admin", is_active=False
    )
    with pytest.raises(services_admin.UserChangeRefused) as refused:
        services_admin.user_delete(user=ada, request=None)
    assert refused.value.status == 409
    ada.refresh_from_db()
    assert ada.is_active
    assert not (data_root / "backups").exists()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/admin/users", NEW_USER),
        ("put", "/api/admin/users/{otto}", {"user_level": "developer"}),
        ("delete", "/api/admin/users/{otto}", None),
        ("post", "/api/admin/users/{otto}/reset-data", {"confirm": True}),
    ],
)
def test_unsafe_requests_need_the_csrf_token(personas, csrf_client, data_root, method, path, body):
    otto = personas["op_otto"]
    path = path.format(otto=otto.pk)
    csrf_client.force_login(personas["ada_admin"])
    csrf_client.get("/api/auth/user")
    refused = send(csrf_client, method, path, body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert User.objects.count() == 5
    otto.refresh_from_db()
    assert otto.user_level == "operator"
    assert not AuditEvent.objects.filter(action__startswith="user_").exists()

    token = csrf_client.cookies["csrftoken"].value
    accepted = send(csrf_client, method, path, body, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code in (200, 201), accepted.content
