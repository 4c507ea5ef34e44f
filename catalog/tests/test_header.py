"""The script header parser: real source texts through `header_parse`, real files
in tmp_path through `header_read`. Nothing here imports or runs a script."""

import json
import subprocess
import sys

import pytest

from catalog.header import (
    Header,
    header_parse,
    header_read,
    metadata_values_apply,
    parameters_validate,
    tags_validate,
)

FILENAME = "backup_system.py"

# The specification's header example, as a script author would write it.
SPEC_EXAMPLE = '''"""
ScriptsManager Metadata:
@description: Creates a complete system backup with compression options
@description_long: docs/backup_system.md
@description_es: Crea una copia de seguridad completa del sistema con opciones de compresión
@description_long_es: docs/backup_system_es.md
@description_it: Crea un backup completo del sistema con opzioni di compressione
@description_long_it: docs/backup_system_it.md
@description_fr: Crée une sauvegarde complète du système avec options de compression
@description_long_fr: docs/backup_system_fr.md
@required_level: admin
@category: backup
@tags: system,maintenance,storage
@parameters: [
    {
        "name": "destination",
        "type": "path",
        "required": true,
        "description": "Backup destination directory"
    },
    {
        "name": "compression",
        "type": "select",
        "options": ["none", "gzip", "bzip2"],
        "default": "gzip"
    }
]
@execution_timeout: 3600
@flask_port: 5200
"""

# Your script code here...
import shutil

print(shutil.disk_usage("/"))
'''

SPEC_EXAMPLE_VALUES = {
    "description": {
        "en": "Creates a complete system backup with compression options",
        "es": "Crea una copia de seguridad completa del sistema con opciones de compresión",
        "it": "Crea un backup completo del sistema con opzioni di compressione",
        "fr": "Crée une sauvegarde complète du système avec options de compression",
    },
    "description_long": {
        "en": "docs/backup_system.md",
        "es": "docs/backup_system_es.md",
        "it": "docs/backup_system_it.md",
        "fr": "docs/backup_system_fr.md",
    },
    "required_level": "admin",
    "category": "backup",
    "tags": ["system", "maintenance", "storage"],
    "parameters": [
        {
            "name": "destination",
            "type": "path",
            "required": True,
            "secret": False,
            "description": {"en": "Backup destination directory"},
        },
        {
            "name": "compression",
            "type": "select",
            "required": False,
            "secret": False,
            "options": ["none", "gzip", "bzip2"],
            "default": "gzip",
        },
    ],
    "execution_timeout": 3600,
    "flask_port": 5200,
}

# A valid parameter put beside an invalid one: the header must drop both.
GOOD = {"name": "destination", "type": "path"}


def parse(source: str) -> Header:
    return header_parse(source, filename=FILENAME)


def lines(*text: str) -> str:
    """Source whose line n is text[n - 1], so expected line numbers read off the call."""
    return "\n".join(text) + "\n"


def errors(header: Header) -> list:
    return [p for p in header.problems if p.severity == "error"]


def warnings(header: Header) -> list:
    return [p for p in header.problems if p.severity == "warning"]


def header_with_parameters(parameters: object) -> str:
    """A docstring header whose @parameters (on line 3) is `parameters` as indented JSON."""
    return lines(
        '"""',
        "@description: Parameter check",
        f"@parameters: {json.dumps(parameters, indent=4)}",
        "@execution_timeout: 60",
        '"""',
        "print('run')",
    )


# --- the specification's example and every key --------------------------------------------


def test_it_reads_every_key_of_the_specification_example_from_a_file(tmp_path):
    script = tmp_path / FILENAME
    script.write_text(SPEC_EXAMPLE, encoding="utf-8")

    header = header_read(script)

    assert header.found is True
    assert header.problems == []
    assert header.values == SPEC_EXAMPLE_VALUES


@pytest.mark.parametrize(
    ("key", "raw", "field", "expected"),
    [
        ("description", "Creates a backup", "description", {"en": "Creates a backup"}),
        ("description_es", "Crea una copia", "description", {"es": "Crea una copia"}),
        ("description_it", "Crea un backup", "description", {"it": "Crea un backup"}),
        ("description_fr", "Crée une sauvegarde", "description", {"fr": "Crée une sauvegarde"}),
        ("description_long", "docs/backup.md", "description_long", {"en": "docs/backup.md"}),
        ("description_long_es", "docs/es.md", "description_long", {"es": "docs/es.md"}),
        ("description_long_it", "docs/it.md", "description_long", {"it": "docs/it.md"}),
        ("description_long_fr", "docs/fr.md", "description_long", {"fr": "docs/fr.md"}),
        ("display_name", "System Backup", "display_name", {"en": "System Backup"}),
        ("display_name_es", "Copia del sistema", "display_name", {"es": "Copia del sistema"}),
        ("display_name_it", "Backup del sistema", "display_name", {"it": "Backup del sistema"}),
        ("display_name_fr", "Sauvegarde", "display_name", {"fr": "Sauvegarde"}),
        ("required_level", "viewer", "required_level", "viewer"),
        ("required_level", "operator", "required_level", "operator"),
        ("required_level", "developer", "required_level", "developer"),
        ("required_level", "admin", "required_level", "admin"),
        ("category", "backup", "category", "backup"),
        ("tags", "system,maintenance,storage", "tags", ["system", "maintenance", "storage"]),
        ("execution_timeout", "3600", "execution_timeout", 3600),
        ("execution_timeout", "1", "execution_timeout", 1),
        ("flask_port", "5200", "flask_port", 5200),
        ("flask_port", "1024", "flask_port", 1024),
        ("flask_port", "65535", "flask_port", 65535),
        ("interface", "true", "interface", True),
        ("interface", "false", "interface", False),
        ("auto_open_interface", "yes", "auto_open_interface", True),
        ("auto_open_interface", "off", "auto_open_interface", False),
        ("requires_parameters", "on", "requires_parameters", True),
        ("requires_parameters", "0", "requires_parameters", False),
        ("requires_parameters", "True", "requires_parameters", True),
        ("conda_environment", "thermal-py312", "conda_environment", "thermal-py312"),
    ],
)
def test_each_header_key_is_parsed_into_its_field(key, raw, field, expected):
    header = parse(lines('"""', "ScriptsManager Metadata:", f"@{key}: {raw}", '"""'))

    assert header.found is True
    assert header.problems == []
    assert header.values == {field: expected}


@pytest.mark.parametrize("key", ["description", "description_long", "display_name"])
def test_language_variants_of_a_key_gather_into_one_dict_by_language(key):
    header = parse(
        lines(
            '"""',
            f"@{key}: In English",
            f"@{key}_es: En español",
            f"@{key}_it: In italiano",
            f"@{key}_fr: En français",
            '"""',
        )
    )

    assert header.problems == []
    assert header.values == {
        key: {"en": "In English", "es": "En español", "it": "In italiano", "fr": "En français"}
    }


def test_tags_are_trimmed_and_repeats_ignoring_case_are_dropped():
    header = parse(lines('"""', "@tags:  system , Storage,maintenance, SYSTEM ,storage, ", '"""'))

    assert header.values["tags"] == ["system", "Storage", "maintenance"]
    assert errors(header) == []


def test_parameters_of_every_type_span_many_lines_and_are_normalised():
    header = parse(
        lines(
            '"""',
            "ScriptsManager Metadata:",
            "@description: Builds a thermal report",
            "@parameters: [",
            "    {",
            '        "name": "title",',
            '        "type": "string",',
            '        "required": true,',
            '        "default": "Weekly report",',
            '        "description": "Title printed on the first page"',
            "    },",
            "    {",
            '        "name": "notes",',
            '        "type": "text",',
            '        "default": "",',
            '        "description": {',
            '            "en": "Free notes",',
            '            "es": "Notas libres",',
            '            "it": "Note libere",',
            '            "fr": "Notes libres"',
            "        }",
            "    },",
            '    {"name": "samples", "type": "int", "min": 1, "max": 500, "default": 100},',
            '    {"name": "threshold", "type": "float", "min": -40.5, "max": 120,',
            '     "default": 85.5},',
            '    {"name": "dry_run", "type": "bool", "default": false},',
            '    {"name": "unit", "type": "select", "options": ["celsius", "kelvin"],',
            '     "default": "kelvin"},',
            '    {"name": "output-dir", "type": "path", "required": true},',
            '    {"name": "input_file", "type": "file"},',
            '    {"name": "api_key", "type": "password",',
            '     "description": {"en": "Service key", "es": "Clave del servicio"}},',
            '    {"name": "token", "type": "string", "secret": true},',
            '    {"name": "label"}',
            "]",
            "@execution_timeout: 900",
            '"""',
        )
    )

    assert header.problems == []
    assert header.values["execution_timeout"] == 900
    assert header.values["parameters"] == [
        {
            "name": "title",
            "type": "string",
            "required": True,
            "secret": False,
            "default": "Weekly report",
            "description": {"en": "Title printed on the first page"},
        },
        {
            "name": "notes",
            "type": "text",
            "required": False,
            "secret": False,
            "default": "",
            "description": {
                "en": "Free notes",
                "es": "Notas libres",
                "it": "Note libere",
                "fr": "Notes libres",
            },
        },
        {
            "name": "samples",
            "type": "int",
            "required": False,
            "secret": False,
            "min": 1,
            "max": 500,
            "default": 100,
        },
        {
            "name": "threshold",
            "type": "float",
            "required": False,
            "secret": False,
            "min": -40.5,
            "max": 120,
            "default": 85.5,
        },
        {"name": "dry_run", "type": "bool", "required": False, "secret": False, "default": False},
        {
            "name": "unit",
            "type": "select",
            "required": False,
            "secret": False,
            "options": ["celsius", "kelvin"],
            "default": "kelvin",
        },
        {"name": "output-dir", "type": "path", "required": True, "secret": False},
        {"name": "input_file", "type": "file", "required": False, "secret": False},
        {
            "name": "api_key",
            "type": "password",
            "required": False,
            "secret": True,
            "description": {"en": "Service key", "es": "Clave del servicio"},
        },
        {"name": "token", "type": "string", "required": False, "secret": True},
        {"name": "label", "type": "string", "required": False, "secret": False},
    ]


@pytest.mark.parametrize("secret", [None, False])
def test_a_password_parameter_is_always_secret(secret):
    parameter = {"name": "api_key", "type": "password"}
    if secret is not None:
        parameter["secret"] = secret

    header = parse(header_with_parameters([parameter]))

    assert header.problems == []
    assert header.values["parameters"][0]["secret"] is True


@pytest.mark.parametrize(
    "parameter",
    [
        {"name": "offset", "type": "int", "max": -1},
        {"name": "offset", "type": "float", "max": -0.5, "default": -2.5},
        {"name": "offset", "type": "int", "min": -10, "max": -1, "default": -10},
        {"name": "offset", "type": "int", "min": 5, "default": 5},
        {"name": "offset", "type": "float", "min": 1.5, "max": 1.5, "default": 1.5},
    ],
)
def test_bounds_that_leave_room_for_a_value_are_accepted(parameter):
    header = parse(header_with_parameters([parameter]))

    assert header.problems == []
    assert header.values["parameters"][0]["name"] == "offset"


# --- where the header is found -----------------------------------------------------------


def test_a_header_written_as_leading_comments_is_read():
    header = parse(
        lines(
            "#!/usr/bin/env python3",
            "",
            "# ScriptsManager Metadata:",
            "# @description: Cleans the temp folder",
            "# @description_es: Limpia la carpeta temporal",
            "# @required_level: developer",
            "# @tags: cleanup, disk",
            "# @parameters: [",
            '#     {"name": "days", "type": "int", "min": 1, "default": 7}',
            "# ]",
            "# @execution_timeout: 120",
            "# @author: Jane",
            "",
            "import shutil",
        )
    )

    assert header.found is True
    assert header.values == {
        "description": {"en": "Cleans the temp folder", "es": "Limpia la carpeta temporal"},
        "required_level": "developer",
        "tags": ["cleanup", "disk"],
        "parameters": [
            {
                "name": "days",
                "type": "int",
                "required": False,
                "secret": False,
                "min": 1,
                "default": 7,
            }
        ],
        "execution_timeout": 120,
    }
    assert [(p.line, p.severity) for p in header.problems] == [(12, "warning")]


def test_a_shebang_and_an_encoding_line_before_the_docstring_keep_line_numbers():
    header = parse(
        lines(
            "#!/usr/bin/env python3",
            "# -*- coding: utf-8 -*-",
            '"""',
            "ScriptsManager Metadata:",
            "@description: Rotates logs",
            "@required_level: boss",
            '"""',
            "import logging",
        )
    )

    assert header.found is True
    assert header.values == {"description": {"en": "Rotates logs"}}
    assert [(p.line, p.severity) for p in header.problems] == [(6, "error")]


@pytest.mark.parametrize("prefix", ["r", "R", "u", "U"])
def test_a_prefixed_docstring_is_read(prefix):
    header = parse(
        lines(f'{prefix}"""', "@description: Prefixed header", "@required_level: boss", '"""')
    )

    assert header.values == {"description": {"en": "Prefixed header"}}
    assert [p.line for p in errors(header)] == [3]


def test_a_raw_docstring_keeps_its_backslashes():
    header = parse(lines('r"""', r"@conda_environment: C:\envs\new_env", '"""'))

    assert header.problems == []
    assert header.values == {"conda_environment": r"C:\envs\new_env"}


@pytest.mark.parametrize(
    "source",
    [
        lines("'''", "@description: Single quotes", "@required_level: boss", "'''"),
        lines("r'''", "@description: Single quotes", "@required_level: boss", "'''"),
        lines(
            "'''ScriptsManager Metadata:",
            "@description: Single quotes",
            "@required_level: boss'''",
        ),
    ],
)
def test_a_single_quoted_triple_string_docstring_is_read(source):
    header = parse(source)

    assert header.values == {"description": {"en": "Single quotes"}}
    assert [p.line for p in errors(header)] == [3]


@pytest.mark.parametrize(
    "broken_code",
    [
        "def broken(:\n    pass\n",
        "print 'python 2'\n",
        "x = '''never closed\n",
        "values = [1, 2\n",
        "if True:\nprint('not indented')\n",
        "    unexpected_indent = 1\n",
        "total = )\n",
    ],
)
def test_a_syntax_error_after_the_docstring_does_not_hide_the_header(tmp_path, broken_code):
    script = tmp_path / "broken.py"
    script.write_text(
        lines('"""', "@description: Still readable", "@category: tools", '"""') + broken_code
    )

    header = header_read(script)

    assert header.found is True
    assert header.problems == []
    assert header.values == {"description": {"en": "Still readable"}, "category": "tools"}


@pytest.mark.parametrize(
    "source",
    [
        "",
        "import sys\nprint(sys.argv)\n",
        "#!/usr/bin/env python3\nimport os\n",
        "# Just a comment\nx = 1\n",
        'print("""@description: not a docstring""")\n',
    ],
)
def test_a_script_without_a_header_has_none_and_no_problems(source):
    header = parse(source)

    assert header.found is False
    assert header.values == {}
    assert header.problems == []


@pytest.mark.parametrize(
    "source",
    [
        '"""Just a helper module."""\nimport os\n',
        '"""\nContact ops@example.com for help.\n"""\n',
        '"""\nUses @decorators throughout.\n"""\nimport functools\n',
    ],
)
def test_a_docstring_without_any_key_is_not_a_header(source):
    header = parse(source)

    assert header.found is False
    assert header.values == {}
    assert header.problems == []


# --- line numbers, unknown and repeated keys ----------------------------------------------


@pytest.mark.parametrize(
    ("source", "error_line"),
    [
        pytest.param(
            lines(
                '"""',
                "ScriptsManager Metadata:",
                "@description: Broken parameters",
                "@parameters: [",
                '    {"name": "count", "type": "int"},',
                '    {"name": "mode", "type": "select", "options": ["a", "b"],},',
                "]",
                "@execution_timeout: 60",
                '"""',
            ),
            6,
            id="json-opening-on-the-key-line",
        ),
        pytest.param(
            lines(
                '"""',
                "ScriptsManager Metadata:",
                "@description: Broken parameters",
                "@parameters:",
                "[",
                '    {"name": "count", "type": "int"},',
                '    {"name": "mode", "type": "select", "options": ["a", "b"],},',
                "]",
                "@execution_timeout: 60",
                '"""',
            ),
            7,
            id="json-opening-on-the-line-after-the-key",
        ),
        pytest.param(
            lines(
                "#!/usr/bin/env python3",
                "# ScriptsManager Metadata:",
                "# @description: Broken parameters",
                "# @parameters: [",
                '#     {"name": "count", "type": "int"},',
                '#     {"name": "mode", "type": "select", "options": ["a", "b"],},',
                "# ]",
                "# @execution_timeout: 60",
                "import sys",
            ),
            6,
            id="comment-header",
        ),
    ],
)
def test_it_reports_invalid_json_at_the_line_of_the_error(source, error_line):
    header = parse(source)

    assert [(p.file, p.line, p.severity) for p in header.problems] == [
        (FILENAME, error_line, "error")
    ]
    assert "JSON" in header.problems[0].message
    assert "parameters" not in header.values
    assert header.values == {
        "description": {"en": "Broken parameters"},
        "execution_timeout": 60,
    }


def test_it_reports_an_unknown_required_level_at_its_line():
    header = parse(
        lines(
            '"""',
            "ScriptsManager Metadata:",
            "@description: Level check",
            "@category: tools",
            "@required_level: superuser",
            '"""',
        )
    )

    assert [(p.file, p.line, p.severity) for p in header.problems] == [(FILENAME, 5, "error")]
    assert "superuser" in header.problems[0].message
    assert "required_level" not in header.values


def test_unknown_keys_are_warnings_at_their_line_and_are_ignored():
    header = parse(
        lines(
            '"""',
            "@description: Known",
            "@author: Jane Doe",
            "@version: 2.1",
            "@description_de: Bericht",
            '"""',
        )
    )

    assert header.found is True
    assert header.values == {"description": {"en": "Known"}}
    assert [(p.line, p.severity) for p in header.problems] == [
        (3, "warning"),
        (4, "warning"),
        (5, "warning"),
    ]


@pytest.mark.parametrize(
    ("key", "first", "last", "expected"),
    [
        ("category", "backup", "tools", "tools"),
        ("required_level", "viewer", "admin", "admin"),
        ("execution_timeout", "60", "120", 120),
        ("description", "First", "Second", {"en": "Second"}),
        (
            "parameters",
            '[{"name": "old"}]',
            '[{"name": "new", "type": "int"}]',
            [{"name": "new", "type": "int", "required": False, "secret": False}],
        ),
    ],
)
def test_a_key_given_twice_is_a_warning_and_the_last_value_wins(key, first, last, expected):
    header = parse(lines('"""', f"@{key}: {first}", "@tags: a", f"@{key}: {last}", '"""'))

    assert header.values[key] == expected
    assert [(p.line, p.severity) for p in header.problems] == [(4, "warning")]


def test_a_broken_last_parameters_does_not_fall_back_to_an_earlier_one():
    header = parse(
        lines(
            '"""',
            '@parameters: [{"name": "old"}]',
            '@parameters: [{"name": "new"},]',
            '"""',
        )
    )

    assert [(p.line, p.severity) for p in errors(header)] == [(3, "error")]
    assert "parameters" not in header.values


# --- malformed values are errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        pytest.param({"name": "destination", "type": "path"}, "list", id="an-object-not-a-list"),
        pytest.param("destination", "list", id="a-text-not-a-list"),
        pytest.param([GOOD, "compression"], "object", id="a-parameter-not-an-object"),
        pytest.param([GOOD, ["compression"]], "object", id="a-parameter-that-is-a-list"),
        pytest.param([GOOD, {"name": "2fast"}], "2fast", id="name-starting-with-a-digit"),
        pytest.param([GOOD, {"name": "output dir"}], "output dir", id="name-with-a-space"),
        pytest.param([GOOD, {"name": "_hidden"}], "_hidden", id="name-starting-with-underscore"),
        pytest.param([GOOD, {"type": "int"}], "name", id="name-missing"),
        pytest.param([GOOD, {"name": 5}], "name", id="name-not-a-text"),
        pytest.param(
            [GOOD, {"name": "Mode"}, {"name": "mode"}], "duplicate", id="duplicate-ignoring-case"
        ),
        pytest.param([GOOD, {"name": "n", "type": "number"}], "type", id="unknown-type"),
        pytest.param([GOOD, {"name": "unit", "type": "select"}], "options", id="select-no-options"),
        pytest.param(
            [GOOD, {"name": "unit", "type": "select", "options": []}],
            "options",
            id="select-empty-options",
        ),
        pytest.param(
            [GOOD, {"name": "unit", "type": "select", "options": "a,b"}],
            "options",
            id="select-options-not-a-list",
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "int", "min": "1"}], "min", id="min-not-a-number"
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "float", "max": "ten"}], "max", id="max-not-a-number"
        ),
        pytest.param([GOOD, {"name": "n", "type": "int", "min": False}], "min", id="min-a-bool"),
        pytest.param([GOOD, {"name": "n", "type": "float", "max": True}], "max", id="max-a-bool"),
        pytest.param(
            [GOOD, {"name": "n", "type": "int", "min": 10, "max": 1}], "min", id="min-above-max"
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "float", "min": 1.5, "max": -1.5}],
            "min",
            id="float-min-above-max",
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "bool", "default": "yes"}], "default", id="bool-yes"
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "int", "default": 1.5}], "default", id="int-default-1.5"
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "int", "default": True}], "default", id="int-default-bool"
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "int", "default": "3"}], "default", id="int-default-text"
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "float", "default": "x"}], "default", id="float-x"
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "float", "default": False}],
            "default",
            id="float-default-bool",
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "select", "options": ["none", "gzip"], "default": "zip"}],
            "default",
            id="select-default-not-an-option",
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "string", "default": 3}], "default", id="string-3"
        ),
        pytest.param([GOOD, {"name": "n", "default": 3}], "default", id="untyped-default-3"),
        pytest.param(
            [GOOD, {"name": "n", "type": "text", "default": ["a"]}], "default", id="text-a-list"
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "path", "default": 42}], "default", id="path-a-number"
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "file", "default": True}], "default", id="file-a-bool"
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "password", "default": 1234}],
            "default",
            id="password-a-number",
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "int", "min": 1, "max": 10, "default": 11}],
            "default",
            id="int-default-above-max",
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "int", "min": 1, "max": 10, "default": 0}],
            "default",
            id="int-default-below-min",
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "float", "min": 0, "max": 1, "default": 1.01}],
            "default",
            id="float-default-above-max",
        ),
        pytest.param(
            [GOOD, {"name": "n", "type": "float", "min": 0, "default": -0.5}],
            "default",
            id="float-default-below-min",
        ),
        pytest.param(
            [GOOD, {"name": "n", "description": 5}], "description", id="description-a-number"
        ),
        pytest.param(
            [GOOD, {"name": "n", "description": {"en": 5}}],
            "description",
            id="description-dict-of-non-text",
        ),
    ],
)
def test_an_invalid_parameter_is_an_error_and_no_parameters_are_kept(parameters, fragment):
    header = parse(header_with_parameters(parameters))

    assert header.found is True
    assert errors(header), header.problems
    assert {(p.file, p.line) for p in errors(header)} == {(FILENAME, 3)}
    assert any(fragment in p.message for p in errors(header)), header.problems
    assert "parameters" not in header.values
    assert header.values["execution_timeout"] == 60


@pytest.mark.parametrize(
    "name",
    [
        "port",
        "data-dir",
        "data_dir",
        "theme",
        "language",
        "project-id",
        "user-level",
        "PORT",
        "Data-Dir",
        "DATA_DIR",
        "Theme",
        "LANGUAGE",
        "Project-ID",
        "User-Level",
    ],
)
def test_a_parameter_named_like_a_manager_argument_is_an_error(name):
    header = parse(header_with_parameters([GOOD, {"name": name, "type": "string"}]))

    assert [(p.line, p.severity) for p in header.problems] == [(3, "error")]
    assert repr(name) in header.problems[0].message
    assert "parameters" not in header.values


def test_one_invalid_parameter_withholds_the_valid_ones_from_the_header():
    parameters = [
        {"name": "destination", "type": "path", "required": True},
        {"name": "compression", "type": "select", "options": ["none", "gzip"]},
        {"name": "level", "type": "int", "min": 1, "max": 9, "default": 12},
    ]

    header = parse(header_with_parameters(parameters))
    valid, problems = parameters_validate(parameters, source=FILENAME, line=3)

    assert "parameters" not in header.values
    assert len(errors(header)) == 1
    # The validator itself does return the valid ones; the header chooses to drop them all.
    assert [p["name"] for p in valid] == ["destination", "compression"]
    assert [(p.line, p.severity) for p in problems] == [(3, "error")]


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("required_level", "boss"),
        ("required_level", "root"),
        ("required_level", ""),
        ("execution_timeout", "soon"),
        ("execution_timeout", "0"),
        ("execution_timeout", "-5"),
        ("execution_timeout", "1.5"),
        ("execution_timeout", "1e3"),
        ("execution_timeout", "²"),
        ("execution_timeout", ""),
        ("flask_port", "80"),
        ("flask_port", "1023"),
        ("flask_port", "65536"),
        ("flask_port", "0"),
        ("flask_port", "-5200"),
        ("flask_port", "http"),
        ("interface", "maybe"),
        ("auto_open_interface", "maybe"),
        ("requires_parameters", "sometimes"),
    ],
)
def test_an_invalid_value_is_an_error_at_its_line_and_is_left_out(key, raw):
    header = parse(
        lines(
            '"""',
            "ScriptsManager Metadata:",
            "@description: Value check",
            f"@{key}: {raw}",
            "@category: tools",
            '"""',
        )
    )

    assert [(p.file, p.line, p.severity) for p in header.problems] == [(FILENAME, 4, "error")]
    assert key not in header.values
    assert header.values == {"description": {"en": "Value check"}, "category": "tools"}


# --- tags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_tag",
    ["two words", "x" * 31, "c++", "tag!", "a.b", "50%", "ops/dev"],
)
def test_an_invalid_tag_is_a_warning_and_is_dropped(bad_tag):
    header = parse(lines('"""', "@description: Tags", f"@tags: good, {bad_tag}, other", '"""'))

    assert header.values["tags"] == ["good", "other"]
    assert [(p.line, p.severity) for p in header.problems] == [(3, "warning")]
    assert bad_tag in header.problems[0].message


def test_a_tag_of_thirty_characters_is_kept():
    tag = "t" * 30

    header = parse(lines('"""', f"@tags: {tag}", '"""'))

    assert header.values["tags"] == [tag]
    assert header.problems == []


def test_more_than_twenty_tags_keeps_the_first_twenty_with_a_warning():
    tags = [f"tag{number:02}" for number in range(1, 26)]

    header = parse(lines('"""', "@description: Many tags", f"@tags: {', '.join(tags)}", '"""'))

    assert header.values["tags"] == tags[:20]
    assert [(p.line, p.severity) for p in header.problems] == [(3, "warning")]


def test_tags_from_a_list_are_validated_like_a_comma_text():
    tags, problems = tags_validate(
        ["system", " Storage ", "storage", "bad tag", ""], source="script_metadata.json", line=7
    )

    assert tags == ["system", "Storage"]
    assert [(p.file, p.line, p.severity) for p in problems] == [
        ("script_metadata.json", 7, "warning")
    ]


def test_tags_neither_text_nor_list_give_no_tags_and_a_problem():
    tags, problems = tags_validate({"system": True}, source="script_metadata.json", line=7)

    assert tags == []
    assert len(problems) == 1


# --- the shared validator, fed from script_metadata.json ----------------------------------


def test_a_script_metadata_entry_is_validated_like_a_header():
    entry = {
        "display_name": {"en": "System Backup", "es": "Copia de Seguridad del Sistema"},
        "description": {"en": "Creates a complete system backup", "fr": "Crée une sauvegarde"},
        "description_long": {"en": "docs/backup_system.md", "it": "docs/backup_system_it.md"},
        "tags": ["system", "maintenance", "storage"],
        "required_level": "admin",
        "category": "backup",
        "parameters": [
            {
                "name": "destination",
                "type": "path",
                "required": True,
                "description": {"en": "Backup destination directory", "es": "Directorio"},
            }
        ],
        "execution_timeout": 3600,
        "flask_port": 5200,
        "auto_open_interface": True,
        "requires_parameters": True,
    }
    values: dict = {}

    problems = metadata_values_apply(values, entry, source="script_metadata.json")

    assert problems == []
    assert values == {
        "display_name": {"en": "System Backup", "es": "Copia de Seguridad del Sistema"},
        "description": {"en": "Creates a complete system backup", "fr": "Crée une sauvegarde"},
        "description_long": {"en": "docs/backup_system.md", "it": "docs/backup_system_it.md"},
        "tags": ["system", "maintenance", "storage"],
        "required_level": "admin",
        "category": "backup",
        "parameters": [
            {
                "name": "destination",
                "type": "path",
                "required": True,
                "secret": False,
                "description": {"en": "Backup destination directory", "es": "Directorio"},
            }
        ],
        "execution_timeout": 3600,
        "flask_port": 5200,
        "auto_open_interface": True,
        "requires_parameters": True,
    }


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("required_level", "boss"),
        ("execution_timeout", True),
        ("execution_timeout", 0),
        ("flask_port", 80),
        ("interface", "maybe"),
        ("description", 5),
        ("parameters", {"name": "x"}),
    ],
)
def test_a_script_metadata_problem_points_at_the_line_given_for_its_key(key, raw):
    values: dict = {}

    problems = metadata_values_apply(
        values, {key: raw}, source="script_metadata.json", line_of={key: 7}
    )

    assert [(p.file, p.line, p.severity) for p in problems] == [
        ("script_metadata.json", 7, "error")
    ]
    assert values == {}


# --- reading files ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["a directory", "a missing file"])
def test_an_unreadable_path_gives_one_problem_and_does_not_raise(tmp_path, kind):
    path = tmp_path / "backup_system.py"
    if kind == "a directory":
        path.mkdir()

    header = header_read(path)

    assert header.found is False
    assert header.values == {}
    assert [(p.file, p.line, p.severity) for p in header.problems] == [
        ("backup_system.py", None, "error")
    ]


def test_a_file_with_invalid_utf8_bytes_still_has_its_header_read(tmp_path):
    script = tmp_path / "legacy.py"
    script.write_bytes(
        b'"""\n'
        b"@description: Caf\xe9 report\n"
        b"@category: tools\n"
        b"@required_level: boss\n"
        b'"""\n'
        b"# r\xe9sum\xe9 \xff\xfe\n"
        b'print("done")\n'
    )

    header = header_read(script)

    assert header.found is True
    assert header.values["category"] == "tools"
    assert header.values["description"]["en"].startswith("Caf")
    assert header.values["description"]["en"].endswith(" report")
    assert [(p.file, p.line, p.severity) for p in header.problems] == [("legacy.py", 4, "error")]


def test_a_file_with_windows_line_endings_is_read(tmp_path):
    script = tmp_path / "windows.py"
    script.write_bytes(
        b'"""\r\n'
        b"@description: Windows file\r\n"
        b"@parameters: [\r\n"
        b'    {"name": "count", "type": "int", "default": 2}\r\n'
        b"]\r\n"
        b"@required_level: boss\r\n"
        b'"""\r\n'
        b"print(1)\r\n"
    )

    header = header_read(script)

    assert header.values["description"] == {"en": "Windows file"}
    assert header.values["parameters"][0]["default"] == 2
    assert [(p.line, p.severity) for p in header.problems] == [(6, "error")]


@pytest.mark.parametrize(
    ("body", "error_line"),
    [
        (b'"""\n@description: Saved by Notepad\n@required_level: boss\n"""\n', 3),
        (b"# @description: Saved by Notepad\n# @required_level: boss\nimport os\n", 2),
    ],
    ids=["docstring", "comments"],
)
def test_a_file_starting_with_a_utf8_byte_order_mark_has_its_header_read(
    tmp_path, body, error_line
):
    script = tmp_path / "notepad.py"
    script.write_bytes(b"\xef\xbb\xbf" + body)

    header = header_read(script)

    assert header.found is True
    assert header.values == {"description": {"en": "Saved by Notepad"}}
    assert [(p.line, p.severity) for p in header.problems] == [(error_line, "error")]


def test_reading_a_header_never_imports_or_runs_the_script(tmp_path):
    marker = tmp_path / "script-ran.marker"
    script = tmp_path / "side_effect_script.py"
    script.write_text(
        lines(
            '"""',
            "@description: Writes a marker when it runs",
            "@category: tools",
            '"""',
            f"open({str(marker)!r}, 'w').write('ran')",
        )
    )

    header = header_read(script)

    assert header.values == {
        "description": {"en": "Writes a marker when it runs"},
        "category": "tools",
    }
    assert not marker.exists()
    assert "side_effect_script" not in sys.modules
    # Running it for real does write the marker, so its absence above proves something.
    subprocess.run([sys.executable, str(script)], check=True)
    assert marker.exists()


def test_backslashes_in_the_header_are_kept_as_written():
    source = '"""\n@description: Reads C:\\new\\data and \\Users\n@category: io\n"""\n'
    header = header_parse(source, filename="win.py")
    assert header.values["description"]["en"] == "Reads C:\\new\\data and \\Users"
    assert header.values["category"] == "io"


@pytest.mark.parametrize("flag", ["required", "secret"])
def test_required_and_secret_must_be_booleans(flag):
    source = f'"""\n@parameters: [{{"name": "x", "{flag}": "false"}}]\n"""\n'
    header = header_parse(source, filename="flags.py")
    assert "parameters" not in header.values
    assert f"{flag} must be true or false" in header.problems[0].message
