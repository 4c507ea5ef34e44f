"""Reading a script's metadata header without importing or running it.

The header is the module docstring (found with `tokenize`, so a syntax error
further down the file does not hide it) or, failing that, the leading block of
`#` comments. Inside, each `@key: value` line starts a key; the value runs on
until the next key line, which lets JSON such as `@parameters` span lines.
"""

import io
import json
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accounts.levels import LEVEL_ORDER
from catalog.models import PARAMETER_TYPES

LANGUAGES = ("en", "es", "it", "fr")
TRANSLATED_KEYS = ("display_name", "description", "description_long")
INT_KEYS = ("execution_timeout", "flask_port")
BOOL_KEYS = ("interface", "auto_open_interface", "requires_parameters")
TEXT_KEYS = ("required_level", "category", "conda_environment", "name")
KNOWN_KEYS = (
    {f"{key}_{lang}" for key in TRANSLATED_KEYS for lang in LANGUAGES if lang != "en"}
    | set(TRANSLATED_KEYS)
    | set(INT_KEYS)
    | set(BOOL_KEYS)
    | set(TEXT_KEYS)
    | {"tags", "parameters"}
)
# The contract's own arguments: a declared parameter must not shadow them.
RESERVED_PARAMETERS = {
    "data-dir",
    "data_dir",
    "user-level",
    "user_level",
    "port",
    "project-id",
    "project_id",
    "project-name",
    "project_name",
    "theme",
    "language",
}
PARAMETER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
TAG = re.compile(r"^[A-Za-z0-9_-]{1,30}$")
MAX_TAGS = 20
KEY_LINE = re.compile(r"^\s*@([A-Za-z_][A-Za-z0-9_]*)\s*:\s?(.*)$")
TRUE = {"true", "yes", "1", "on"}
FALSE = {"false", "no", "0", "off"}


@dataclass
class Problem:
    """Something wrong in a metadata source. Errors stop a script from running."""

    file: str
    line: int | None
    message: str
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass
class Header:
    """What a header declared: `values` uses the model's field names; translated
    fields are dicts by language ({"en": ..., "es": ...})."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    found: bool = False


def _docstring(source: str) -> tuple[str, int] | None:
    """(text, line of its first character) of the module docstring, or None."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENCODING):
                continue
            if token.type == tokenize.STRING:
                # The text as written, without escape processing: a Windows path
                # like C:\\new stays as typed and line numbers stay true.
                opening = re.match(r"^([rRuUbBfF]*)('\'\'\'|\"\"\"|'|\")", token.string)
                if opening is None or "b" in opening[1].lower() or "f" in opening[1].lower():
                    return None
                quote = opening[2]
                text = token.string[len(opening[0]) : len(token.string) - len(quote)]
                first_line = token.start[0]
                return text, first_line
            return None
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    return None


def _comment_block(source: str) -> tuple[str, int] | None:
    lines = []
    start = None
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#!") and number == 1:
            continue
        if stripped.startswith("#"):
            if start is None:
                start = number
            lines.append(stripped[1:].removeprefix(" "))
        elif stripped == "" and start is None:
            continue
        else:
            break
    if start is None:
        return None
    return "\n".join(lines), start


def _key_blocks(text: str, first_line: int) -> list[tuple[str, str, int]]:
    """[(key, raw value, file line of the key)] in order of appearance."""
    blocks: list[list] = []
    for index, line in enumerate(text.splitlines()):
        match = KEY_LINE.match(line)
        if match:
            blocks.append([match[1], [match[2]], first_line + index])
        elif blocks:
            blocks[-1][1].append(line)
    # Values keep their leading line breaks so JSON error lines map to the file.
    return [(key, "\n".join(parts).rstrip(), line) for key, parts, line in blocks]


def translated_value(raw: Any) -> dict[str, str] | None:
    """A str (English) or a {lang: text} dict, as {lang: text}; None when neither."""
    if isinstance(raw, str):
        return {"en": raw.strip()}
    if isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values()):
        return {lang: raw[lang].strip() for lang in LANGUAGES if lang in raw}
    return None


def tags_validate(raw: Any, *, source: str, line: int | None) -> tuple[list[str], list[Problem]]:
    """Normalise tags from "a,b" or ["a", "b"]; problems for invalid ones (warnings)."""
    if isinstance(raw, str):
        items = [t.strip() for t in raw.split(",")]
    elif isinstance(raw, list):
        items = [str(t).strip() for t in raw]
    else:
        return [], [Problem(source, line, "tags must be a comma-separated text or a list")]
    tags: list[str] = []
    problems = []
    for tag in items:
        if not tag:
            continue
        if not TAG.match(tag):
            problems.append(
                Problem(
                    source,
                    line,
                    f"tag {tag!r} ignored: use at most 30 letters, digits, '_' or '-'",
                    "warning",
                )
            )
        elif tag.lower() not in (t.lower() for t in tags):
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        problems.append(
            Problem(source, line, f"only the first {MAX_TAGS} tags are kept", "warning")
        )
        tags = tags[:MAX_TAGS]
    return tags, problems


def parameters_validate(
    raw: Any, *, source: str, line: int | None
) -> tuple[list[dict], list[Problem]]:
    """Check declared parameters; return (the valid ones normalised, problems)."""
    if not isinstance(raw, list):
        return [], [Problem(source, line, "parameters must be a JSON list of objects")]
    problems: list[Problem] = []
    seen: set[str] = set()
    result = []
    for position, item in enumerate(raw, start=1):
        where = f"parameter {position}"
        if not isinstance(item, dict):
            problems.append(Problem(source, line, f"{where} must be an object"))
            continue
        name = item.get("name")
        if not isinstance(name, str) or not PARAMETER_NAME.match(name):
            problems.append(
                Problem(
                    source,
                    line,
                    f"{where}: name {name!r} must start with a letter and use "
                    "letters, digits, '_' or '-'",
                )
            )
            continue
        where = f"parameter {name!r}"
        if name.lower() in RESERVED_PARAMETERS:
            problems.append(
                Problem(source, line, f"{where} clashes with an argument the manager passes")
            )
            continue
        if name.lower() in seen:
            problems.append(Problem(source, line, f"duplicate parameter name {name!r}"))
            continue
        seen.add(name.lower())
        kind = item.get("type", "string")
        if kind not in PARAMETER_TYPES:
            problems.append(
                Problem(
                    source,
                    line,
                    f"{where}: unknown type {kind!r}; use one of {', '.join(PARAMETER_TYPES)}",
                )
            )
            continue
        flags = {flag: item.get(flag, False) for flag in ("required", "secret")}
        wrong = [flag for flag, value in flags.items() if not isinstance(value, bool)]
        if wrong:
            problems.append(Problem(source, line, f"{where}: {wrong[0]} must be true or false"))
            continue
        parameter = {
            "name": name,
            "type": kind,
            "required": flags["required"],
            "secret": flags["secret"] or kind == "password",
        }
        description = item.get("description")
        if description is not None:
            text = translated_value(description)
            if text is None:
                problems.append(
                    Problem(
                        source,
                        line,
                        f"{where}: description must be a text or a {{lang: text}} object",
                    )
                )
            else:
                parameter["description"] = text
        label = item.get("label")
        if label is not None and translated_value(label) is not None:
            parameter["label"] = translated_value(label)
        if kind == "select":
            options = item.get("options")
            if (
                not isinstance(options, list)
                or not options
                or not all(isinstance(o, str | int | float) for o in options)
            ):
                problems.append(
                    Problem(source, line, f"{where}: a select needs a non-empty list of options")
                )
                continue
            parameter["options"] = [str(o) for o in options]
        if kind in ("int", "float"):
            bad_bounds = False
            for bound in ("min", "max"):
                value = item.get(bound)
                if bound not in item:
                    continue
                if isinstance(value, bool) or not isinstance(value, int | float):
                    problems.append(Problem(source, line, f"{where}: {bound} must be a number"))
                    bad_bounds = True
                else:
                    parameter[bound] = value
            if (
                not bad_bounds
                and "min" in parameter
                and "max" in parameter
                and parameter["min"] > parameter["max"]
            ):
                problems.append(Problem(source, line, f"{where}: min is above max"))
                bad_bounds = True
            if bad_bounds:
                continue
        if "default" in item:
            default = item["default"]
            problem = _default_problem(parameter, default)
            if problem:
                problems.append(Problem(source, line, f"{where}: default {default!r} {problem}"))
                continue
            parameter["default"] = default
        result.append(parameter)
    return result, problems


def _default_problem(parameter: dict, default: Any) -> str | None:
    kind = parameter["type"]
    if default is None:
        return None
    if kind == "bool":
        return None if isinstance(default, bool) else "must be true or false"
    if kind == "int":
        if isinstance(default, bool) or not isinstance(default, int):
            return "must be a whole number"
    elif kind == "float":
        if isinstance(default, bool) or not isinstance(default, int | float):
            return "must be a number"
    elif kind == "select":
        return None if str(default) in parameter["options"] else "is not one of the options"
    elif not isinstance(default, str):
        return "must be a text"
    if kind in ("int", "float"):
        if "min" in parameter and default < parameter["min"]:
            return "is below min"
        if "max" in parameter and default > parameter["max"]:
            return "is above max"
    return None


def metadata_values_apply(
    values: dict[str, Any],
    raw: dict[str, Any],
    *,
    source: str,
    line_of: dict[str, int] | None = None,
) -> list[Problem]:
    """Validate `raw` (header keys or a script_metadata.json entry) into `values`.

    Both sources share this one validator; `line_of` maps a key to its line.
    Returns the problems found; invalid values are left out of `values`.
    """
    line_of = line_of or {}
    problems: list[Problem] = []
    for key, raw_value in raw.items():
        line = line_of.get(key)
        base, _, lang = key.rpartition("_")
        if key in TRANSLATED_KEYS or (base in TRANSLATED_KEYS and lang in LANGUAGES):
            field_name = key if key in TRANSLATED_KEYS else base
            text = translated_value(raw_value)
            if text is None:
                problems.append(
                    Problem(source, line, f"{key} must be a text or a {{lang: text}} object")
                )
                continue
            if key not in TRANSLATED_KEYS:
                text = {lang: text["en"]}
            values.setdefault(field_name, {}).update(text)
        elif key == "name":
            text = translated_value(raw_value)
            if text is not None:
                values.setdefault("display_name", {}).update(text)
        elif key == "required_level":
            if raw_value not in LEVEL_ORDER:
                problems.append(
                    Problem(
                        source,
                        line,
                        f"unknown required_level {raw_value!r}; "
                        f"use one of {', '.join(LEVEL_ORDER)}",
                    )
                )
            else:
                values["required_level"] = raw_value
        elif key in INT_KEYS:
            number = _as_int(raw_value)
            if (
                number is None
                or number <= 0
                or (key == "flask_port" and not 1024 <= number <= 65535)
            ):
                problems.append(
                    Problem(
                        source, line, f"{key} must be a positive whole number, got {raw_value!r}"
                    )
                )
            else:
                values[key] = number
        elif key in BOOL_KEYS:
            flag = _as_bool(raw_value)
            if flag is None:
                problems.append(
                    Problem(source, line, f"{key} must be true or false, got {raw_value!r}")
                )
            else:
                values[key] = flag
        elif key in ("category", "conda_environment"):
            values[key] = str(raw_value).strip()
        elif key == "tags":
            tags, tag_problems = tags_validate(raw_value, source=source, line=line)
            values["tags"] = tags
            problems += tag_problems
        elif key == "parameters":
            parameters, parameter_problems = parameters_validate(
                raw_value, source=source, line=line
            )
            if not parameter_problems:
                values["parameters"] = parameters
            problems += parameter_problems
        else:
            problems.append(Problem(source, line, f"unknown key {key!r} ignored", "warning"))
    return problems


def _as_int(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"[0-9]{1,9}", raw.strip()):
        return int(raw.strip())
    return None


def _as_bool(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in TRUE | FALSE:
        return raw.strip().lower() in TRUE
    return None


def header_parse(source: str, *, filename: str) -> Header:
    """Parse the metadata header of a script's source text."""
    header = Header()
    found = _docstring(source)
    if found is None or "@" not in found[0]:
        found = _comment_block(source)
    if found is None:
        return header
    text, first_line = found
    blocks = _key_blocks(text, first_line)
    if not blocks:
        return header
    header.found = True
    raw: dict[str, Any] = {}
    line_of: dict[str, int] = {}
    for key, value, line in blocks:
        if key in line_of:
            header.problems.append(
                Problem(filename, line, f"@{key} is given twice; the last one wins", "warning")
            )
        line_of[key] = line
        if key == "parameters":
            try:
                raw[key] = json.loads(value) if value.strip() else []
            except json.JSONDecodeError as error:
                # No fallback to an earlier @parameters: a script runs with the
                # parameters it declares last, or not at all.
                raw.pop(key, None)
                header.problems.append(
                    Problem(
                        filename,
                        line + error.lineno - 1,
                        f"@parameters is not valid JSON: {error.msg}",
                    )
                )
                continue
        else:
            raw[key] = value.strip()
    header.problems += metadata_values_apply(header.values, raw, source=filename, line_of=line_of)
    return header


def header_read(path: Path) -> Header:
    """Parse the header of the file at `path`; unreadable files give one problem."""
    try:
        # utf-8-sig: files saved by Windows Notepad start with a byte-order mark.
        source = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as error:
        return Header(
            problems=[Problem(path.name, None, f"cannot read the file: {error.strerror}")]
        )
    return header_parse(source, filename=path.name)
