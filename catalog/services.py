"""Writes to the catalog made by people: metadata edits, personal tags, environments."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import AuditEvent
from accounts.services import audit_record
from catalog.conda import EnvironmentUnavailable, environment_resolve
from catalog.discovery import DiscoverySummary, discovery_run
from catalog.header import LANGUAGES, MAX_TAGS, TAG, metadata_values_apply
from catalog.models import Script, ScriptGroup, UserScriptTags

# What the metadata editor may change, by model field.
EDITABLE_FIELDS = (
    "required_level",
    "category",
    "tags",
    "parameters",
    "execution_timeout",
    "flask_port",
    "interface",
    "auto_open_interface",
    "conda_environment",
)
TRANSLATED_EDITABLE = ("display_name", "description")


def tags_clean(tags: list[Any]) -> list[str]:
    """Validated personal or system tags, duplicates (any case) dropped.

    Raises ValidationError naming every bad tag.
    """
    if not isinstance(tags, list):
        raise ValidationError({"tags": _("Tags must be a list.")})
    bad = [str(t) for t in tags if not isinstance(t, str) or not TAG.match(t.strip())]
    if bad:
        raise ValidationError(
            {
                "tags": _("Invalid tags: %(tags)s. A tag has 1 to 30 letters, digits, “_” or “-”.")
                % {"tags": ", ".join(bad)}
            }
        )
    cleaned: list[str] = []
    for tag in (t.strip() for t in tags):
        if tag.lower() not in {c.lower() for c in cleaned}:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError({"tags": _("At most %(max)d tags.") % {"max": MAX_TAGS}})
    return cleaned


def script_metadata_update(
    *, script: Script, user, changes: dict[str, Any], reset: list[str]
) -> Script:
    """Apply a person's edits, all validated before any is saved.

    Each edited field joins `edited_fields`, so discovery keeps it; a field
    named in `reset` goes back to what the files say.
    """
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    raw = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS and k != "tags"}
    for key, value in raw.items():
        problems = metadata_values_apply(values, {key: value}, source="editor")
        messages = [p.message for p in problems if p.severity == "error"]
        if messages:
            errors[key] = messages
    if "conda_environment" in raw:
        values["conda_environment"] = str(raw["conda_environment"] or "").strip()
    for nullable in ("execution_timeout", "flask_port"):
        if nullable in changes and changes[nullable] is None:
            values[nullable] = None
            errors.pop(nullable, None)
    if "tags" in changes:
        try:
            values["tags"] = tags_clean(changes["tags"])
        except ValidationError as error:
            errors.update(error.message_dict)
    for name in TRANSLATED_EDITABLE:
        texts = changes.get(name)
        if texts is None:
            continue
        if not isinstance(texts, dict) or not all(
            lang in LANGUAGES and isinstance(text, str) for lang, text in texts.items()
        ):
            errors.setdefault(name, []).append(_("Give texts by language code: en, es, it, fr."))
            continue
        if name == "display_name" and "en" in texts and not texts["en"].strip():
            errors.setdefault(name, []).append(_("The English name cannot be empty."))
            continue
        for lang, text in texts.items():
            values[f"{name}_{lang}"] = text.strip() or ("" if lang == "en" else None)
    unknown_reset = [f for f in reset if f not in _resettable()]
    if unknown_reset:
        errors.setdefault("reset", []).append(
            _("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown_reset)}
        )
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        script = Script.objects.select_for_update().get(pk=script.pk)
        edited = [f for f in script.edited_fields if f not in reset]
        for field, value in values.items():
            setattr(script, field, value)
            if field not in edited:
                edited.append(field)
        script.edited_fields = edited
        script.save()
        if reset:
            # Re-read the files for the fields handed back to them.
            discovery_run(only_group=script.group, force=True)
            script.refresh_from_db()
    audit_record(
        action=AuditEvent.Action.METADATA_EDITED,
        actor=user,
        target=script,
        details={"changed": sorted(values), "reset": sorted(reset)},
    )
    return script


def _resettable() -> set[str]:
    return set(EDITABLE_FIELDS) | {
        f"{name}_{lang}" for name in TRANSLATED_EDITABLE for lang in LANGUAGES
    }


def script_metadata_refresh(*, script: Script) -> Script:
    """Re-read the script's files now; fields a person edited stay as they are."""
    discovery_run(only_group=script.group, force=True)
    script.refresh_from_db()
    return script


def group_refresh(*, group: ScriptGroup) -> DiscoverySummary:
    return discovery_run(only_group=group, force=True)


def personal_tags_set(*, user, script: Script, tags: list[Any]) -> list[str]:
    cleaned = tags_clean(tags)
    if cleaned:
        UserScriptTags.objects.update_or_create(
            user=user, script=script, defaults={"tags": cleaned}
        )
    else:
        UserScriptTags.objects.filter(user=user, script=script).delete()
    return cleaned


def group_environment_set(*, group: ScriptGroup, user, environment: str) -> ScriptGroup:
    """Point the group at a conda environment name or virtualenv path ("" for the
    manager's Python). Refused, naming it, when it cannot be resolved."""
    environment = (environment or "").strip()
    try:
        environment_resolve(environment)
    except EnvironmentUnavailable as error:
        raise ValidationError({"environment": str(error)}) from None
    with transaction.atomic():
        group = ScriptGroup.objects.select_for_update().get(pk=group.pk)
        previous = group.conda_environment
        group.conda_environment = environment
        if "conda_environment" not in group.edited_fields:
            group.edited_fields = [*group.edited_fields, "conda_environment"]
        group.save()
    audit_record(
        action=AuditEvent.Action.ENVIRONMENT_CHANGED,
        actor=user,
        target=group,
        details={"from": previous, "to": environment},
    )
    return group
