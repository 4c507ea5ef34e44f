"""Checking the values a user gives for a script's declared parameters, and
turning them into command-line arguments."""

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SECRET_MASK = "********"  # noqa: S105 (a mask, not a password)
# Whole numbers a script can take as a signed 64-bit integer (numpy, C, SQL).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def _label(parameter: dict) -> str:
    return parameter["name"]


def parameters_validate(declared: list[dict], given: dict[str, Any]) -> dict[str, Any]:
    """The values to run with: defaults applied, each checked against its
    declaration. Raises ValidationError naming every bad or unknown field."""
    if not isinstance(given, dict):
        raise ValidationError({"parameters": _("Parameters must be an object of name: value.")})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    known = {p["name"] for p in declared}
    for name in given:
        if name not in known:
            errors[name] = _("Unknown parameter “%(name)s”.") % {"name": name}
    for parameter in declared:
        name, kind = parameter["name"], parameter["type"]
        raw = given.get(name)
        if raw is None or (isinstance(raw, str) and raw.strip() == "" and kind != "bool"):
            if "default" in parameter and parameter["default"] is not None:
                raw = parameter["default"]
            elif kind == "bool":
                raw = False
            elif parameter.get("required"):
                errors[name] = _("This parameter is required.")
                continue
            else:
                continue
        try:
            values[name] = _value_check(parameter, raw)
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise ValidationError(errors)
    return values


def _value_check(parameter: dict, raw: Any) -> Any:
    kind = parameter["type"]
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false", "on", "off", "1", "0"):
            return raw.lower() in ("true", "on", "1")
        raise ValueError(_("Give true or false."))
    if kind in ("int", "float"):
        if isinstance(raw, bool):
            raise ValueError(_("Give a number."))
        try:
            number = int(raw) if kind == "int" and not isinstance(raw, float) else float(raw)
        except OverflowError:
            # float(10**400): an integer too large for any float.
            raise ValueError(_("The number is too large.")) from None
        except (TypeError, ValueError):
            raise ValueError(
                _("Give a whole number.") if kind == "int" else _("Give a number.")
            ) from None
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(_("Give a finite number."))
        if kind == "int" and isinstance(raw, float) and not raw.is_integer():
            raise ValueError(_("Give a whole number."))
        if kind == "int":
            number = int(number)
            if not INT_MIN <= number <= INT_MAX:
                raise ValueError(
                    _("Give a whole number between %(min)d and %(max)d.")
                    % {"min": INT_MIN, "max": INT_MAX}
                )
        if "min" in parameter and number < parameter["min"]:
            raise ValueError(_("Must be at least %(min)s.") % {"min": parameter["min"]})
        if "max" in parameter and number > parameter["max"]:
            raise ValueError(_("Must be at most %(max)s.") % {"max": parameter["max"]})
        return number
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError(_("Give a text."))
    try:
        text = str(raw)
    except ValueError:  # an integer of more digits than Python converts to text
        raise ValueError(_("The value is too long.")) from None
    if "\x00" in text:
        raise ValueError(_("The value contains a NUL character."))
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") from JSON
        raise ValueError(_("The value is not valid text.")) from None
    # Each value becomes one command-line argument, and the kernel refuses to
    # start a program with an argument over 128 KiB (MAX_ARG_STRLEN).
    limit = settings.SCRIPT_PARAMETER_MAX_BYTES
    if size > limit:
        raise ValueError(
            _("The value is %(size)d bytes long; at most %(max)d bytes are allowed.")
            % {"size": size, "max": limit}
        )
    if kind == "select" and text not in parameter["options"]:
        raise ValueError(
            _("Choose one of: %(options)s.") % {"options": ", ".join(parameter["options"])}
        )
    if kind not in ("text", "password") and "\n" in text:
        raise ValueError(_("The value must fit on one line."))
    return text


def parameters_argv(declared: list[dict], values: dict[str, Any]) -> list[str]:
    """`--name value` per value in declaration order; a true bool is a bare
    `--name`, a false one is left out. `--name=value` keeps a value that starts
    with a dash from being read as an option."""
    argv: list[str] = []
    for parameter in declared:
        name = parameter["name"]
        if name not in values:
            continue
        value = values[name]
        if parameter["type"] == "bool":
            if value:
                argv.append(f"--{name}")
            continue
        text = repr(value) if isinstance(value, float) else str(value)
        if text.startswith("-"):
            argv.append(f"--{name}={text}")
        else:
            argv += [f"--{name}", text]
    return argv


def parameters_masked(declared: list[dict], values: dict[str, Any]) -> dict[str, Any]:
    """The values with every secret one replaced, for storing and showing."""
    secret = {p["name"] for p in declared if p.get("secret") or p["type"] == "password"}
    return {k: (SECRET_MASK if k in secret else v) for k, v in values.items()}
