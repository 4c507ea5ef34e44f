from accounts.models import AuditEvent, User
from accounts.tests.conftest import project_with_files
from projects.services import project_data_dir


def test_the_django_admin_shows_projects_and_deletes_like_the_api(personas, client_for, groups):
    otto = personas["op_otto"]
    project = project_with_files(otto, groups["lab"], "project_default", {"a.json": b"x" * 2048})
    admin = client_for("ada_admin")
    page = admin.get(f"/admin/accounts/user/{otto.pk}/change/").content.decode()
    assert "project_default" in page and "2.0\xa0KB" in page and "Lab" in page
    response = admin.post(f"/admin/accounts/user/{otto.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=otto.pk).exists()
    assert not project_data_dir(project).exists()
    backups = list((project_data_dir(project).parents[3] / "backups").iterdir())
    assert [p.name.startswith(f"user_op_otto-{otto.pk}_delete_") for p in backups] == [True]
    assert AuditEvent.objects.filter(action="user_deleted").count() == 1


def test_the_django_admin_offers_no_self_delete(personas, client_for, data_root):
    ada = personas["ada_admin"]
    admin = client_for("ada_admin")
    assert admin.get(f"/admin/accounts/user/{ada.pk}/delete/").status_code == 403
    assert admin.post(f"/admin/accounts/user/{ada.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=ada.pk).exists()


def change_form(user, **changes) -> dict:
    data = {
        "username": user.username,
        "email": user.email,
        "user_level": user.user_level,
        "is_active": "on" if user.is_active else "",
        "preferred_language": user.preferred_language,
        "preferred_theme": user.preferred_theme,
        "first_name": "",
        "last_name": "",
    }
    return {**data, **changes}


def test_the_django_admin_refuses_self_demotion_and_deactivation(personas, client_for):
    ada = personas["ada_admin"]
    admin = client_for("ada_admin")
    for changes in ({"user_level": "developer"}, {"is_active": ""}):
        response = admin.post(f"/admin/accounts/user/{ada.pk}/change/", change_form(ada, **changes))
        assert response.status_code == 200  # the form again, with the error
        assert "your own" in response.content.decode()
        ada.refresh_from_db()
        assert ada.user_level == "admin" and ada.is_active
    otto = personas["op_otto"]
    response = admin.post(
        f"/admin/accounts/user/{otto.pk}/change/", change_form(otto, user_level="developer")
    )
    assert response.status_code == 302
