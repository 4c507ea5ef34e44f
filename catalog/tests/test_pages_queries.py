from catalog.discovery import discovery_run
from catalog.models import ScriptGroup


def build(tree, groups: int, scripts: int) -> None:
    for g in range(groups):
        tree.group(f"group{g}", {"name": f"Group {g}", "icon": "gear"})
        for s in range(scripts):
            tree.script(
                f"group{g}", f"s{s}.py", f"@description: Script {s}\n@tags: t{s % 3},common"
            )
    discovery_run()


def count_queries(client, path, django_assert_num_queries, expected):
    with django_assert_num_queries(expected):
        response = client.get(path)
    assert response.status_code == 200
    return response


def test_the_dashboard_and_group_page_queries_do_not_grow_with_scripts(
    tree, client_for, django_assert_num_queries
):
    build(tree, 2, 2)
    client = client_for("dev_dora")
    client.get("/")
    group = ScriptGroup.objects.get(directory_name="group0")
    # session, user, environments, projects, groups (with counts), interfaces, recent runs
    small = count_queries(client, "/", django_assert_num_queries, 7)
    client.get(f"/groups/{group.pk}/")  # the first visit creates the default project
    # session, user, group, scripts, personal tags, environments, projects
    count_queries(client, f"/groups/{group.pk}/", django_assert_num_queries, 7)
    build(tree, 8, 25)
    large = count_queries(client, "/", django_assert_num_queries, 7)
    page = count_queries(client, f"/groups/{group.pk}/", django_assert_num_queries, 7)
    assert small.content.decode().count('data-testid="group-card"') == 2
    assert large.content.decode().count('data-testid="group-card"') == 8
    assert page.content.decode().count('data-testid="script-card"') == 25


def test_the_api_lists_are_constant_in_queries(tree, client_for, django_assert_num_queries):
    build(tree, 1, 3)
    client = client_for("op_otto")
    group = ScriptGroup.objects.get()
    client.get("/api/script-groups")
    count_queries(client, "/api/script-groups", django_assert_num_queries, 4)
    count_queries(client, f"/api/script-groups/{group.pk}/scripts", django_assert_num_queries, 5)
    build(tree, 1, 30)
    count_queries(client, "/api/script-groups", django_assert_num_queries, 4)
    count_queries(client, f"/api/script-groups/{group.pk}/scripts", django_assert_num_queries, 5)
