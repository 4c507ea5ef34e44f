import pytest

from catalog.discovery import discovery_run
from catalog.models import Script, ScriptGroup


@pytest.fixture
def catalog(tree, personas):
    """One group per level, each with one script per level."""
    levels = ("viewer", "operator", "developer", "admin")
    for group_level in levels:
        tree.group(f"g_{group_level}", {"name": f"G {group_level}", "required_level": group_level})
        for script_level in levels:
            tree.script(
                f"g_{group_level}", f"s_{script_level}.py", f"@required_level: {script_level}"
            )
    discovery_run()
    return personas


def visible_groups(client):
    return sorted(g["directory_name"] for g in client.get("/api/script-groups").json())


@pytest.mark.parametrize(
    ("persona", "groups"),
    [
        ("vic_viewer", ["g_viewer"]),
        ("op_otto", ["g_operator", "g_viewer"]),
        ("dev_dora", ["g_developer", "g_operator", "g_viewer"]),
        ("ada_admin", ["g_admin", "g_developer", "g_operator", "g_viewer"]),
    ],
)
def test_each_level_sees_groups_at_or_below_it(catalog, client_for, persona, groups):
    assert visible_groups(client_for(persona)) == groups


def test_the_script_count_counts_only_visible_scripts(catalog, client_for):
    groups = {
        g["directory_name"]: g for g in client_for("op_otto").get("/api/script-groups").json()
    }
    assert groups["g_viewer"]["script_count"] == 2


def test_a_hidden_group_or_script_answers_404(catalog, client_for):
    hidden_group = ScriptGroup.objects.get(directory_name="g_admin")
    hidden_script = Script.objects.get(group__directory_name="g_viewer", filename="s_admin.py")
    client = client_for("op_otto")
    assert client.get(f"/api/script-groups/{hidden_group.pk}/scripts").status_code == 404
    assert client.get(f"/api/scripts/{hidden_script.pk}/metadata").status_code == 404
    assert client.get(f"/api/scripts/{hidden_script.pk}/description-long").status_code == 404
    assert client.get(f"/groups/{hidden_group.pk}/").status_code == 404
    assert client.get("/api/scripts/999999/metadata").status_code == 404


def test_viewers_see_scripts_and_docs_but_never_a_run_button(catalog, client_for):
    group = ScriptGroup.objects.get(directory_name="g_viewer")
    viewer_page = client_for("vic_viewer").get(f"/groups/{group.pk}/").content.decode()
    assert 'data-testid="script-card"' in viewer_page
    assert 'data-sm-action="toggle-doc"' in viewer_page
    assert 'data-testid="run-button"' not in viewer_page
    assert "sm-run-form" not in viewer_page
    operator_page = client_for("op_otto").get(f"/groups/{group.pk}/").content.decode()
    assert operator_page.count('data-testid="run-button"') == 2


def test_only_developers_get_the_editors(catalog, client_for):
    group = ScriptGroup.objects.get(directory_name="g_viewer")
    assert (
        'data-testid="edit-metadata"'
        not in client_for("op_otto").get(f"/groups/{group.pk}/").content.decode()
    )
    assert (
        'data-testid="edit-metadata"'
        in client_for("dev_dora").get(f"/groups/{group.pk}/").content.decode()
    )


def test_error_details_are_for_developers_only(tree, client_for, personas):
    tree.script("g", "bad.py", '@parameters: [{"name": "x",}]')
    discovery_run()
    group = ScriptGroup.objects.get()
    operator = client_for("op_otto").get(f"/api/script-groups/{group.pk}/scripts").json()[0]
    developer = client_for("dev_dora").get(f"/api/script-groups/{group.pk}/scripts").json()[0]
    assert operator["runnable"] is False and developer["runnable"] is False
    assert operator["errors"][0]["file"] == ""
    assert developer["errors"][0]["file"] == "bad.py" and developer["errors"][0]["line"] == 3
    page = client_for("dev_dora").get(f"/groups/{group.pk}/").content.decode()
    assert "bad.py:3" in page
