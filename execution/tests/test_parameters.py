import pytest
from django.core.exceptions import ValidationError

from execution.parameters import (
    SECRET_MASK,
    parameters_argv,
    parameters_masked,
    parameters_validate,
)

DECLARED = [
    {"name": "title", "type": "string", "required": True, "secret": False},
    {"name": "notes", "type": "text", "required": False, "secret": False},
    {
        "name": "layers",
        "type": "int",
        "required": False,
        "secret": False,
        "default": 2,
        "min": 1,
        "max": 10,
    },
    {"name": "ratio", "type": "float", "required": False, "secret": False, "min": 0, "max": 1},
    {"name": "verbose", "type": "bool", "required": False, "secret": False},
    {
        "name": "mode",
        "type": "select",
        "required": False,
        "secret": False,
        "options": ["fast", "exact"],
        "default": "fast",
    },
    {"name": "source", "type": "path", "required": False, "secret": False},
    {"name": "upload", "type": "file", "required": False, "secret": False},
    {"name": "token", "type": "password", "required": False, "secret": True},
]


def test_defaults_are_applied_and_types_converted():
    values = parameters_validate(DECLARED, {"title": "Run 1", "ratio": "0.5", "verbose": True})
    assert values == {"title": "Run 1", "layers": 2, "ratio": 0.5, "verbose": True, "mode": "fast"}


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x", "layers": "two"}, "layers"),
        ({"title": "x", "layers": 2.5}, "layers"),
        ({"title": "x", "layers": 0}, "layers"),
        ({"title": "x", "layers": 11}, "layers"),
        ({"title": "x", "layers": True}, "layers"),
        ({"title": "x", "ratio": 1.5}, "ratio"),
        ({"title": "x", "ratio": "nan"}, "ratio"),
        ({"title": "x", "verbose": "maybe"}, "verbose"),
        ({"title": "x", "mode": "slow"}, "mode"),
        ({"title": "x", "source": "a\nb"}, "source"),
        ({"title": "x", "title2": 1}, "title2"),
        ({"title": ["a"]}, "title"),
        ({"title": "a\x00b"}, "title"),
    ],
)
def test_each_bad_value_is_named(given, field):
    with pytest.raises(ValidationError) as error:
        parameters_validate(DECLARED, given)
    assert field in error.value.message_dict


def test_all_bad_fields_are_reported_together():
    with pytest.raises(ValidationError) as error:
        parameters_validate(DECLARED, {"layers": 99, "mode": "slow"})
    assert set(error.value.message_dict) == {"title", "layers", "mode"}


def test_argv_follows_the_contract():
    values = parameters_validate(
        DECLARED,
        {
            "title": "My run",
            "verbose": True,
            "ratio": -0.0 + 0.25,
            "notes": "two\nlines",
            "token": "s3cret",
        },
    )
    argv = parameters_argv(DECLARED, values)
    assert argv == [
        "--title", "My run",
        "--notes", "two\nlines",
        "--layers", "2",
        "--ratio", "0.25",
        "--verbose",
        "--mode", "fast",
        "--token", "s3cret",
    ]  # fmt: skip
    assert "--verbose" not in parameters_argv(DECLARED, {**values, "verbose": False})


def test_a_value_starting_with_a_dash_stays_a_value():
    declared = [{"name": "offset", "type": "float"}, {"name": "label", "type": "string"}]
    assert parameters_argv(declared, {"offset": -1e5, "label": "--help"}) == [
        "--offset=-100000.0",
        "--label=--help",
    ]


def test_secrets_are_masked_for_storage():
    masked = parameters_masked(DECLARED, {"title": "t", "token": "s3cret"})
    assert masked == {"title": "t", "token": SECRET_MASK}


@pytest.mark.parametrize(
    ("declared", "value"),
    [
        ({"name": "n", "type": "float"}, 10**400),
        ({"name": "n", "type": "float"}, "1e400"),
        ({"name": "n", "type": "float"}, -(10**400)),
        ({"name": "n", "type": "int"}, 10**400),
        ({"name": "n", "type": "int"}, str(2**63)),
        ({"name": "n", "type": "int"}, -(2**63) - 1),
        ({"name": "n", "type": "int"}, 1e300),
        ({"name": "n", "type": "string"}, 10**5000),
    ],
    ids=["float-huge-int", "float-inf", "float-minus-huge", "int-huge", "int-2**63",
         "int-below-64-bit", "int-huge-float", "string-of-5000-digits"],
)  # fmt: skip
def test_a_number_that_does_not_fit_is_named(declared, value):
    with pytest.raises(ValidationError) as error:
        parameters_validate([declared], {"n": value})
    assert list(error.value.message_dict) == ["n"]


def test_64_bit_integers_are_accepted():
    declared = [{"name": "n", "type": "int"}]
    assert parameters_validate(declared, {"n": str(2**63 - 1)}) == {"n": 2**63 - 1}
    assert parameters_validate(declared, {"n": -(2**63)}) == {"n": -(2**63)}


def test_values_are_limited_in_bytes_not_characters(settings):
    settings.SCRIPT_PARAMETER_MAX_BYTES = 8
    declared = [{"name": "t", "type": "text"}]
    assert parameters_validate(declared, {"t": "abcdefgh"}) == {"t": "abcdefgh"}
    with pytest.raises(ValidationError) as error:
        parameters_validate(declared, {"t": "ééééé"})  # 5 characters, 10 bytes
    assert error.value.message_dict["t"] == [
        "The value is 10 bytes long; at most 8 bytes are allowed."
    ]


def test_a_lone_surrogate_is_refused():
    with pytest.raises(ValidationError) as error:
        parameters_validate([{"name": "t", "type": "string"}], {"t": "a\ud800b"})
    assert list(error.value.message_dict) == ["t"]
