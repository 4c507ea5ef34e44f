from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from catalog.discovery import discovery_run
from catalog.models import Script, ScriptGroup

HEADER = """
@description: Computes heat flux
@description_es: Calcula el flujo de calor
@required_level: operator
@tags: thermal,flux
@parameters: [
    {"name": "layers", "type": "int", "default": 2, "min": 1, "max": 10}
]
@execution_timeout: 120
"""


def test_folders_become_groups_and_py_files_scripts(tree, db):
    tree.group(
        "thermal_analysis", {"name": {"en": "Thermal", "es": "Térmico"}, "icon": "thermometer-half"}
    )
    tree.script("thermal_analysis", "heat.py", HEADER)
    tree.script("thermal_analysis", "_helper.py", body="x = 1\n")
    tree.group("empty_one")
    tree.group(".hidden")
    tree.group("_shared")
    summary = discovery_run()
    assert (summary.groups, summary.scripts, summary.added, summary.errors) == (2, 1, 3, 0)
    group = ScriptGroup.objects.get(directory_name="thermal_analysis")
    assert (group.name_en, group.name_es, group.icon) == ("Thermal", "Térmico", "thermometer-half")
    assert ScriptGroup.objects.get(directory_name="empty_one").name == "Empty one"
    script = Script.objects.get()
    assert script.filename == "heat.py"
    assert script.display_name_en == "Heat"
    assert script.description_es == "Calcula el flujo de calor"
    assert script.required_level == "operator"
    assert script.tags == ["thermal", "flux"]
    assert script.parameters[0]["name"] == "layers"
    assert script.execution_timeout == 120


def test_a_page_in_spanish_shows_spanish_where_it_exists_and_english_otherwise(tree, db):
    tree.script("g", "heat.py", HEADER)
    discovery_run()
    script = Script.objects.get()
    with translation.override("es"):
        assert script.description == "Calcula el flujo de calor"
        assert script.display_name == "Heat"
    with translation.override("it"):
        assert script.description == "Computes heat flux"


def test_script_metadata_json_beats_the_header(tree, db):
    tree.script("g", "heat.py", HEADER)
    tree.script_metadata(
        "g",
        {
            "heat.py": {
                "description": {"en": "From JSON"},
                "tags": ["json"],
                "required_level": "developer",
            }
        },
        in_scripts_folder=True,
    )
    discovery_run()
    script = Script.objects.get()
    assert script.description_en == "From JSON"
    assert script.description_es == "Calcula el flujo de calor"  # the header's, not overridden
    assert script.tags == ["json"]
    assert script.required_level == "developer"


def test_an_unchanged_rescan_touches_no_rows(tree, db):
    tree.group("g", {"name": "G"})
    for i in range(5):
        tree.script("g", f"s{i}.py", HEADER)
    discovery_run()
    stamps = list(Script.objects.values_list("updated_at", flat=True))
    with CaptureQueriesContext(connection) as queries:
        summary = discovery_run()
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == []
    assert (summary.added, summary.changed, summary.removed) == (0, 0, 0)
    assert list(Script.objects.values_list("updated_at", flat=True)) == stamps


def test_a_changed_file_is_read_again(tree, db):
    path = tree.script("g", "heat.py", HEADER)
    discovery_run()
    tree.write(path, path.read_text().replace("Computes heat flux", "Computes heat flow"))
    summary = discovery_run()
    assert summary.changed == 1
    assert Script.objects.get().description_en == "Computes heat flow"


def test_a_removed_script_becomes_inactive_and_comes_back_with_its_history(tree, db):
    path = tree.script("g", "heat.py", HEADER)
    discovery_run()
    script = Script.objects.get()
    text = path.read_text()
    path.unlink()
    assert discovery_run().removed == 1
    script.refresh_from_db()
    assert not script.is_active
    tree.write(path, text)
    assert discovery_run().added == 1
    again = Script.objects.get()
    assert again.pk == script.pk and again.is_active


def test_a_removed_group_becomes_inactive(tree, db):
    folder = tree.group("gone", {"name": "Gone"})
    tree.script("gone", "a.py", HEADER)
    discovery_run()
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    assert discovery_run().removed >= 1
    assert not ScriptGroup.objects.get(directory_name="gone").is_active
    assert Script.objects.filter(group__is_active=True).count() == 0


def test_broken_metadata_never_stops_discovery(tree, db):
    tree.script("g", "bad_json.py", '@parameters: [{"name": "x",}]')
    tree.script("g", "bad_level.py", "@required_level: superuser")
    tree.script("g", "bad_type.py", '@parameters: [{"name": "x", "type": "matrix"}]')
    tree.script("g", "dup.py", '@parameters: [{"name": "x"}, {"name": "X"}]')
    tree.script("g", "fine.py", HEADER)
    tree.group("h")
    (tree.root / "h" / "metadata.json").write_text("{not json")
    tree.script("h", "ok.py", HEADER)
    summary = discovery_run()
    assert summary.scripts == 6
    assert summary.errors == 5  # four scripts and one group
    bad = Script.objects.get(filename="bad_json.py")
    assert bad.blocking_errors[0]["file"] == "bad_json.py"
    assert bad.blocking_errors[0]["line"] == 3
    assert "superuser" in Script.objects.get(filename="bad_level.py").errors[0]["message"]
    assert "matrix" in Script.objects.get(filename="bad_type.py").errors[0]["message"]
    assert "duplicate" in Script.objects.get(filename="dup.py").errors[0]["message"]
    assert Script.objects.get(filename="fine.py").blocking_errors == []
    group_error = ScriptGroup.objects.get(directory_name="h").errors[0]
    assert (group_error["file"], group_error["line"]) == ("metadata.json", 1)


def test_a_script_with_errors_cannot_be_run(tree, personas):
    tree.script("g", "bad.py", "@required_level: superuser")
    tree.script("g", "good.py", HEADER)
    discovery_run()
    otto = personas["op_otto"]
    assert not Script.objects.get(filename="bad.py").is_runnable_by(otto)
    assert Script.objects.get(filename="good.py").is_runnable_by(otto)
    assert not Script.objects.get(filename="good.py").is_runnable_by(personas["vic_viewer"])


def test_a_missing_scripts_folder_is_reported_not_raised(settings, tmp_path, db):
    settings.SCRIPT_GROUPS_DIR = tmp_path / "nowhere"
    summary = discovery_run()
    assert summary.groups == 0
    assert "does not exist" in summary.problems[0]


def test_the_discover_command_prints_a_summary(tree, db):
    from io import StringIO

    from django.core.management import call_command

    tree.script("g", "a.py", HEADER)
    tree.script("g", "b.py", "@required_level: nobody")
    out = StringIO()
    call_command("discover", stdout=out)
    assert out.getvalue().strip() == (
        "Discovery: 1 groups, 2 scripts; added 3, changed 0, removed 0, errors 1"
    )
