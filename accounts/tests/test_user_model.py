import pytest
from django.db import IntegrityError, transaction

from accounts.models import User


def test_only_admin_level_users_are_staff(personas):
    assert personas["ada_admin"].is_staff and personas["ada_admin"].is_superuser
    for name in ("dev_dora", "op_otto", "vic_viewer"):
        assert not personas[name].is_staff and not personas[name].is_superuser


def test_changing_the_level_changes_staff_rights(personas):
    otto = personas["op_otto"]
    otto.user_level = "admin"
    otto.save(update_fields=["user_level"])
    otto.refresh_from_db()
    assert otto.is_staff and otto.is_superuser
    otto.user_level = "developer"
    otto.save()
    otto.refresh_from_db()
    assert not otto.is_staff


def test_passwords_are_stored_with_bcrypt(personas):
    assert personas["op_otto"].password.startswith("bcrypt_sha256$")


def test_the_production_settings_hash_with_bcrypt_first():
    from scriptsmanager import settings as production

    assert (
        production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.BCryptSHA256PasswordHasher"
    )


@pytest.mark.parametrize(
    ("field", "value"), [("username", "OP_OTTO"), ("email", "Op_Otto@Example.com")]
)
def test_usernames_and_emails_are_unique_ignoring_case(personas, field, value):
    data = {"username": "someone", "email": "someone@example.com", field: value}
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(password="x-very-long-pass", **data)


def test_an_unknown_level_cannot_be_stored(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username="x", email="x@example.com", user_level="root")


def test_defaults_are_viewer_english_light(db):
    user = User.objects.create_user(username="new", email="new@example.com", password="pw-12345678")
    assert (user.user_level, user.preferred_language, user.preferred_theme) == (
        "viewer",
        "en",
        "light",
    )
    assert user.is_active and user.last_login is None
