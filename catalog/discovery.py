"""Discovery: keep ScriptGroup and Script rows in step with SCRIPT_GROUPS_DIR.

Each folder is a group, each `*.py` in it a script. Values come from, in rising
precedence: defaults, the script's header, `script_metadata.json`, and edits
made in the UI (named in `edited_fields`, never overwritten here). A file's
stat signature decides whether it is read again, so rescanning an unchanged
tree reads no file contents and writes no rows.
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from catalog.header import (
    LANGUAGES,
    Problem,
    header_read,
    metadata_values_apply,
    translated_value,
)
from catalog.models import Script, ScriptGroup

logger = logging.getLogger(__name__)

GROUP_METADATA = "metadata.json"
SCRIPT_METADATA = "script_metadata.json"
ICON = re.compile(r"^[a-z0-9-]{1,50}$")

GROUP_DEFAULTS: dict[str, Any] = {
    "description": {},
    "icon": "folder",
    "category": "",
    "required_level": "viewer",
    "conda_environment": "",
    "execution_timeout": None,
    "auto_discovery": True,
}
SCRIPT_DEFAULTS: dict[str, Any] = {
    "description": {},
    "doc_paths": {},
    "category": "",
    "tags": [],
    "required_level": "viewer",
    "parameters": [],
    "execution_timeout": None,
    "flask_port": None,
    "interface": True,
    "auto_open_interface": True,
    "conda_environment": "",
}
TRANSLATED = {"name", "display_name", "description"}


@dataclass
class DiscoverySummary:
    groups: int = 0
    scripts: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "groups": self.groups,
            "scripts": self.scripts,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "errors": self.errors,
        }

    def __str__(self) -> str:
        return (
            f"{self.groups} groups, {self.scripts} scripts: {self.added} added, "
            f"{self.changed} changed, {self.removed} removed, {self.errors} with errors"
        )


@dataclass
class GroupSource:
    """What the files of one group folder say, before touching the database."""

    directory_name: str
    path: Path
    values: dict[str, Any]
    problems: list[Problem]
    signature: str
    script_entries: dict[str, Any]
    script_entry_lines: dict[str, int]
    script_metadata_file: str
    script_metadata_signature: str


def _stat_signature(*paths: Path) -> str:
    parts = []
    for path in paths:
        try:
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_mtime_ns}:{stat.st_size}")
        except OSError:
            parts.append(f"{path.name}:-")
    return hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()


def folder_title(name: str) -> str:
    """'thermal_analysis' -> 'Thermal analysis'."""
    words = re.sub(r"[_\-]+", " ", name).strip()
    return words[:1].upper() + words[1:] if words else name


def _json_load(path: Path, relname: str) -> tuple[Any, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [Problem(relname, None, "not UTF-8 text")]
    except OSError as error:
        return None, [Problem(relname, None, f"cannot read the file: {error.strerror}")]
    try:
        return json.loads(text), []
    except json.JSONDecodeError as error:
        return None, [Problem(relname, error.lineno, f"invalid JSON: {error.msg}")]


def _line_of_key(path: Path, key: str) -> int | None:
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if f'"{key}"' in line:
                return number
    except (OSError, UnicodeDecodeError):
        return None
    return None


def group_source_read(path: Path) -> GroupSource:
    values: dict[str, Any] = {"name": {"en": folder_title(path.name)}}
    problems: list[Problem] = []
    metadata_path = path / GROUP_METADATA
    if metadata_path.is_file():
        data, problems = _json_load(metadata_path, GROUP_METADATA)
        if data is not None and not isinstance(data, dict):
            problems.append(Problem(GROUP_METADATA, 1, "must be a JSON object"))
        elif isinstance(data, dict):
            problems += _group_values_apply(values, data, metadata_path)

    candidates = [path / SCRIPT_METADATA, path / "scripts" / SCRIPT_METADATA]
    existing = [c for c in candidates if c.is_file()]
    entries: dict[str, Any] = {}
    entry_lines: dict[str, int] = {}
    relname = ""
    if existing:
        chosen = existing[0]
        relname = str(chosen.relative_to(path))
        if len(existing) > 1:
            problems.append(
                Problem(
                    "scripts/" + SCRIPT_METADATA,
                    None,
                    f"ignored: {SCRIPT_METADATA} is used",
                    "warning",
                )
            )
        data, json_problems = _json_load(chosen, relname)
        problems += json_problems
        if data is not None and not isinstance(data, dict):
            problems.append(Problem(relname, 1, "must be a JSON object keyed by script file name"))
        elif isinstance(data, dict):
            entries = data
            entry_lines = {name: _line_of_key(chosen, name) for name in data}
    return GroupSource(
        directory_name=path.name,
        path=path,
        values=values,
        problems=problems,
        signature=_stat_signature(metadata_path),
        script_entries=entries,
        script_entry_lines=entry_lines,
        script_metadata_file=relname,
        script_metadata_signature=_stat_signature(*existing) if existing else "",
    )


def _group_values_apply(
    values: dict[str, Any], data: dict[str, Any], metadata_path: Path
) -> list[Problem]:
    problems = []
    for key, raw in data.items():
        line = _line_of_key(metadata_path, key)
        if key in ("name", "description"):
            text = translated_value(raw)
            if text is None:
                problems.append(
                    Problem(
                        GROUP_METADATA, line, f"{key} must be a text or a {{lang: text}} object"
                    )
                )
            else:
                values.setdefault(key, {}).update(text)
        elif key == "icon":
            if isinstance(raw, str) and ICON.match(raw.removeprefix("bi-")):
                values["icon"] = raw.removeprefix("bi-")
            else:
                problems.append(
                    Problem(
                        GROUP_METADATA,
                        line,
                        f"icon {raw!r} is not a Bootstrap icon name",
                        "warning",
                    )
                )
        elif key == "auto_discovery":
            if isinstance(raw, bool):
                values["auto_discovery"] = raw
            else:
                problems.append(
                    Problem(GROUP_METADATA, line, "auto_discovery must be true or false")
                )
        elif key in ("required_level", "category", "conda_environment", "execution_timeout"):
            problems += metadata_values_apply(
                values, {key: raw}, source=GROUP_METADATA, line_of={key: line}
            )
        else:
            problems.append(
                Problem(GROUP_METADATA, line, f"unknown key {key!r} ignored", "warning")
            )
    return problems


def script_values_read(source: GroupSource, path: Path) -> tuple[dict[str, Any], list[Problem]]:
    """Merged values of one script (header, then its script_metadata.json entry)."""
    values: dict[str, Any] = {"display_name": {"en": folder_title(path.stem)}}
    header = header_read(path)
    problems = list(header.problems)
    for key, value in header.values.items():
        if key in TRANSLATED or key == "description_long":
            values.setdefault(key, {}).update(value)
        else:
            values[key] = value
    entry = source.script_entries.get(path.name)
    if entry is not None:
        line = source.script_entry_lines.get(path.name)
        if not isinstance(entry, dict):
            problems.append(
                Problem(
                    source.script_metadata_file,
                    line,
                    f"the entry for {path.name} must be an object",
                )
            )
        else:
            overlay: dict[str, Any] = {}
            problems += metadata_values_apply(
                overlay,
                entry,
                source=source.script_metadata_file,
                line_of=dict.fromkeys(entry, line),
            )
            for key, value in overlay.items():
                if key in TRANSLATED or key == "description_long":
                    values.setdefault(key, {}).update(value)
                else:
                    values[key] = value
    doc_paths = values.pop("description_long", {})
    values["doc_paths"] = {lang: p for lang, p in doc_paths.items() if p}
    return values, problems


def _assign(obj: ScriptGroup | Script, values: dict[str, Any], defaults: dict[str, Any]) -> bool:
    """Set every field a person did not edit; True when anything changed."""
    edited = set(obj.edited_fields or [])
    changed = False

    def put(name: str, value: Any) -> None:
        nonlocal changed
        if name in edited:
            return
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True

    for name, default in defaults.items():
        if name in TRANSLATED:
            continue
        put(name, values.get(name, default))
    translated = (
        ("name", "description") if isinstance(obj, ScriptGroup) else ("display_name", "description")
    )
    for name in translated:
        texts = values.get(name, {})
        for lang in LANGUAGES:
            # modeltranslation: the default language is NOT NULL, the others are nullable.
            put(f"{name}_{lang}", texts.get(lang) or ("" if lang == "en" else None))
    return changed


def _problems(items: list[Problem]) -> list[dict[str, Any]]:
    return [p.as_dict() for p in items]


def discovery_run(
    *, only_group: ScriptGroup | None = None, force: bool = False
) -> DiscoverySummary:
    """Bring the catalog in line with the folder; see the module docstring.

    `only_group` limits the run to one group; `force` re-reads files whose
    signature did not change (manual refresh) and includes groups whose
    metadata turns automatic discovery off.
    """
    root = Path(settings.SCRIPT_GROUPS_DIR)
    summary = DiscoverySummary()
    if not root.is_dir():
        summary.problems.append(f"the scripts folder {root} does not exist")
        logger.error("Discovery: the scripts folder %s does not exist", root)
        folders: list[Path] = []
    else:
        folders = sorted(
            p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
        )
    if only_group is not None:
        folders = [p for p in folders if p.name == only_group.directory_name]

    groups = {g.directory_name: g for g in ScriptGroup.objects.all()}
    scripts = {(s.group_id, s.filename): s for s in Script.objects.all()}
    if only_group is not None:
        groups = {k: v for k, v in groups.items() if k == only_group.directory_name}
    seen_groups: set[str] = set()
    new_scripts: list[Script] = []
    changed_scripts: list[Script] = []

    with transaction.atomic():
        for folder in folders:
            source = group_source_read(folder)
            seen_groups.add(folder.name)
            group = groups.get(folder.name)
            group_errors = _problems(source.problems)
            if group is None:
                group = ScriptGroup(directory_name=folder.name)
                _assign(group, source.values, GROUP_DEFAULTS)
                group.errors, group.source_signature = group_errors, source.signature
                group.save()
                summary.added += 1
            elif force or not group.is_active or group.source_signature != source.signature:
                changed = _assign(group, source.values, GROUP_DEFAULTS)
                if not group.is_active:
                    summary.added += 1
                elif changed or group.errors != group_errors:
                    summary.changed += 1
                group.is_active = True
                group.errors, group.source_signature = group_errors, source.signature
                group.save()
            if not group.auto_discovery and not force:
                continue
            seen_files: set[str] = set()
            for path in sorted(folder.glob("*.py")):
                if path.name.startswith("_") or not path.is_file():
                    continue
                seen_files.add(path.name)
                # One hash of both (fits source_signature's 64 characters).
                signature = hashlib.sha1(
                    (_stat_signature(path) + source.script_metadata_signature).encode(),
                    usedforsecurity=False,
                ).hexdigest()
                script = scripts.get((group.pk, path.name))
                if (
                    script is not None
                    and script.is_active
                    and script.source_signature == signature
                    and not force
                ):
                    continue
                values, problems = script_values_read(source, path)
                modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
                if script is None:
                    script = Script(group=group, filename=path.name)
                    _assign(script, values, SCRIPT_DEFAULTS)
                    new_scripts.append(script)
                    summary.added += 1
                else:
                    changed = _assign(script, values, SCRIPT_DEFAULTS)
                    if not script.is_active:
                        summary.added += 1
                    elif changed or script.errors != _problems(problems):
                        summary.changed += 1
                    script.is_active = True
                    changed_scripts.append(script)
                script.errors = _problems(problems)
                script.source_signature = signature
                script.last_modified = modified
            for (group_id, filename), script in scripts.items():
                if group_id == group.pk and filename not in seen_files and script.is_active:
                    script.is_active = False
                    changed_scripts.append(script)
                    summary.removed += 1
        for name, group in groups.items():
            if name not in seen_groups and group.is_active:
                group.is_active = False
                group.save(update_fields=["is_active", "updated_at"])
                summary.removed += 1
        Script.objects.bulk_create(new_scripts, batch_size=500)
        if changed_scripts:
            for script in changed_scripts:
                script.save()

    active_scripts = Script.objects.filter(is_active=True, group__is_active=True)
    summary.groups = ScriptGroup.objects.filter(is_active=True).count()
    summary.scripts = active_scripts.count()
    error_lists = [
        *active_scripts.values_list("errors", flat=True),
        *ScriptGroup.objects.filter(is_active=True).values_list("errors", flat=True),
    ]
    summary.errors = sum(
        any(e.get("severity") == "error" for e in errors) for errors in error_lists
    )
    return summary
