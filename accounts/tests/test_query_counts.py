from accounts.models import AuditEvent, User


def grow(n: int) -> None:
    start = User.objects.count()
    for i in range(start, start + n):
        User.objects.create_user(username=f"extra{i}", email=f"extra{i}@example.com")
    AuditEvent.objects.bulk_create(AuditEvent(action="login", actor_username="x") for _ in range(n))


# session and user on every page; the dashboard adds environments, groups,
# running interfaces, recent runs and active projects.
PAGES = {"/": 7, "/accounts/profile/": 2}


def test_pages_use_a_constant_number_of_queries(client_for, django_assert_num_queries):
    client = client_for("op_otto")
    for path, count in PAGES.items():
        client.get(path)  # warm the session
        with django_assert_num_queries(count):
            assert client.get(path).status_code == 200
    grow(30)
    for path, count in PAGES.items():
        with django_assert_num_queries(count):
            assert client.get(path).status_code == 200


def test_the_audit_api_page_is_constant_in_queries(client_for, django_assert_num_queries):
    client = client_for("ada_admin")
    grow(5)
    with django_assert_num_queries(4):  # session, user, count, page
        client.get("/api/admin/logs/audit")
    grow(60)
    with django_assert_num_queries(4):
        body = client.get("/api/admin/logs/audit").json()
    assert body["count"] == 65 and len(body["items"]) == 50


def test_a_login_uses_a_bounded_number_of_queries(personas, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        client.post("/accounts/login/", {"username": "op_otto", "password": "wrong"})
