import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from accounts.levels import (
    LEVEL_ORDER,
    UnknownLevel,
    ensure_level,
    level_at_least,
    level_rank,
    require_level,
    user_has_level,
)


def test_the_order_is_viewer_operator_developer_admin():
    assert LEVEL_ORDER == ("viewer", "operator", "developer", "admin")
    assert [level_rank(level) for level in LEVEL_ORDER] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("level", "required", "expected"),
    [
        ("admin", "viewer", True),
        ("admin", "admin", True),
        ("developer", "admin", False),
        ("developer", "operator", True),
        ("operator", "developer", False),
        ("operator", "operator", True),
        ("viewer", "operator", False),
        ("viewer", "viewer", True),
    ],
)
def test_level_at_least_follows_the_order(level, required, expected):
    assert level_at_least(level, required) is expected


def test_an_unknown_level_is_an_error_naming_it():
    with pytest.raises(UnknownLevel, match="'superuser'"):
        level_rank("superuser")
    with pytest.raises(UnknownLevel):
        level_at_least("admin", "root")


def test_user_has_level_refuses_anonymous_and_inactive_users(personas):
    assert user_has_level(personas["dev_dora"], "operator")
    assert not user_has_level(personas["vic_viewer"], "operator")
    assert not user_has_level(AnonymousUser(), "viewer")
    assert not user_has_level(None, "viewer")
    dora = personas["dev_dora"]
    dora.is_active = False
    assert not user_has_level(dora, "viewer")


def test_a_typo_in_the_required_level_fails_loudly(personas):
    with pytest.raises(UnknownLevel):
        user_has_level(personas["ada_admin"], "admn")
    with pytest.raises(UnknownLevel):
        require_level("dev")


def test_ensure_level_raises_permission_denied_naming_the_level(personas):
    ensure_level(personas["op_otto"], "operator")
    with pytest.raises(PermissionDenied, match="Developer"):
        ensure_level(personas["op_otto"], "developer")


def test_require_level_guards_a_view(personas):
    calls = []

    @require_level("developer")
    def view(request):
        calls.append(request.user.username)
        return "ok"

    request = RequestFactory().get("/")
    request.user = personas["dev_dora"]
    assert view(request) == "ok"
    request.user = personas["op_otto"]
    with pytest.raises(PermissionDenied):
        view(request)
    assert calls == ["dev_dora"]
    assert view.required_level == "developer"


def test_the_model_method_agrees_with_the_helpers(personas):
    for user in personas.values():
        for required in LEVEL_ORDER:
            assert user.has_level(required) == user_has_level(user, required)


def test_require_level_guards_an_api_handler(client_for):
    # The audit log API is admin-only: one decorator, the same answer shape.
    assert client_for("ada_admin").get("/api/admin/logs/audit").status_code == 200
    for name in ("dev_dora", "op_otto", "vic_viewer"):
        response = client_for(name).get("/api/admin/logs/audit")
        assert response.status_code == 403
        assert "Administrator" in response.json()["detail"]
