"""Catalog API: groups, scripts, metadata, docs, tags, environments.

Texts come in the user's language (or `?lang=`), falling back to English.
Anything the user may not see answers 404, exactly like something missing.
"""

from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from accounts.levels import Level, require_level, user_has_level
from accounts.models import AuditEvent
from accounts.services import audit_record
from catalog import docs, selectors, services
from catalog.conda import environments_refresh
from catalog.header import LANGUAGES
from catalog.models import CondaEnvironment, Script, ScriptGroup

router = Router(tags=["catalog"])


# --- Schemas ---------------------------------------------------------------------


class Problem(Schema):
    file: str
    line: int | None
    message: str
    severity: str


class EnvironmentStatus(Schema):
    name: str
    status: Literal["manager", "available", "missing"]
    python_version: str


class GroupOut(Schema):
    id: int
    directory_name: str
    name: str
    description: str
    icon: str
    category: str
    required_level: Level
    environment: EnvironmentStatus
    script_count: int
    errors: list[Problem]


class ParameterOut(Schema):
    name: str
    type: str
    label: str
    description: str
    required: bool
    secret: bool
    default: Any = None
    options: list[str] | None = None
    min: float | None = None
    max: float | None = None


class ScriptOut(Schema):
    id: int
    group_id: int
    filename: str
    display_name: str
    description: str
    category: str
    tags: list[str]
    personal_tags: list[str]
    required_level: Level
    parameters: list[ParameterOut]
    interface: bool
    execution_timeout: int | None
    runnable: bool
    errors: list[Problem]


class Translations(Schema):
    en: str = ""
    es: str | None = None
    it: str | None = None
    fr: str | None = None


class MetadataOut(Schema):
    id: int
    filename: str
    group_id: int
    display_name: Translations
    description: Translations
    doc_paths: dict[str, str]
    required_level: Level
    category: str
    tags: list[str]
    parameters: list[dict]
    execution_timeout: int | None
    flask_port: int | None
    interface: bool
    auto_open_interface: bool
    conda_environment: str
    edited_fields: list[str]
    errors: list[Problem]


class MetadataIn(Schema):
    display_name: dict[str, str] | None = None
    description: dict[str, str] | None = None
    required_level: str | None = None
    category: str | None = None
    tags: list[str] | None = None
    parameters: list[dict] | None = None
    execution_timeout: int | None = None
    flask_port: int | None = None
    interface: bool | None = None
    auto_open_interface: bool | None = None
    conda_environment: str | None = None
    reset: list[str] = Field(default_factory=list, description="fields to hand back to the files")


class DocOut(Schema):
    script_id: int
    requested_language: str
    language: str | None
    exists: bool
    markdown: str
    html: str
    path: str


class DocIn(Schema):
    markdown: str
    language: str = "en"


class PreviewIn(Schema):
    markdown: str
    language: str = "en"


class PreviewOut(Schema):
    html: str


class TemplateIn(Schema):
    language: str = "en"
    overwrite: bool = False


class TagsOut(Schema):
    system: list[str]
    personal: list[str]


class TagsIn(Schema):
    tags: list[Any]


class TagCount(Schema):
    tag: str
    count: int


class SummaryOut(Schema):
    groups: int
    scripts: int
    added: int
    changed: int
    removed: int
    errors: int


class EnvironmentOut(Schema):
    name: str
    path: str
    python_path: str
    python_version: str
    is_available: bool


class EnvironmentIn(Schema):
    environment: str = Field(
        description="a conda environment name, a virtualenv path, or '' for the manager's Python"
    )


# --- Helpers -----------------------------------------------------------------------


def _problems_for(user, errors: list[dict]) -> list[dict]:
    """File-and-line details are for developers and admins; others see that
    something is wrong, not where."""
    if user_has_level(user, Level.DEVELOPER):
        return errors
    if any(e.get("severity") == "error" for e in errors):
        return [
            {
                "file": "",
                "line": None,
                "message": _("This script has a configuration problem; a developer must fix it."),
                "severity": "error",
            }
        ]
    return []


def _localised(value: Any) -> str:
    if isinstance(value, dict):
        return value.get(get_language()) or value.get("en") or ""
    return value or ""


def parameters_for_display(parameters: list[dict]) -> list[dict]:
    """Declared parameters with label and description in the current language."""
    result = []
    for p in parameters:
        result.append(
            {
                **p,
                "label": _localised(p.get("label"))
                or p["name"].replace("_", " ").replace("-", " "),
                "description": _localised(p.get("description")),
            }
        )
    return result


def group_out(group: ScriptGroup, user, environments: dict[str, CondaEnvironment]) -> dict:
    return {
        "id": group.pk,
        "directory_name": group.directory_name,
        "name": group.name,
        "description": group.description or "",
        "icon": group.icon,
        "category": group.category,
        "required_level": group.required_level,
        "environment": selectors.environment_status(group.conda_environment, environments),
        "script_count": getattr(group, "script_count", 0),
        "errors": _problems_for(user, group.errors),
    }


def script_out(script: Script, user, personal: dict[int, list[str]]) -> dict:
    return {
        "id": script.pk,
        "group_id": script.group_id,
        "filename": script.filename,
        "display_name": script.display_name,
        "description": script.description or "",
        "category": script.category,
        "tags": script.tags,
        "personal_tags": personal.get(script.pk, []),
        "required_level": script.required_level,
        "parameters": parameters_for_display(script.parameters),
        "interface": script.interface,
        "execution_timeout": script.effective_timeout,
        "runnable": script.is_runnable_by(user),
        "errors": _problems_for(user, script.errors),
    }


def metadata_out(script: Script, user) -> dict:
    def texts(name: str) -> dict:
        return {lang: getattr(script, f"{name}_{lang}") for lang in LANGUAGES}

    return {
        "id": script.pk,
        "filename": script.filename,
        "group_id": script.group_id,
        "display_name": texts("display_name"),
        "description": texts("description"),
        "doc_paths": script.doc_paths,
        "required_level": script.required_level,
        "category": script.category,
        "tags": script.tags,
        "parameters": script.parameters,
        "execution_timeout": script.execution_timeout,
        "flask_port": script.flask_port,
        "interface": script.interface,
        "auto_open_interface": script.auto_open_interface,
        "conda_environment": script.conda_environment,
        "edited_fields": script.edited_fields,
        "errors": _problems_for(user, script.errors),
    }


def _language(value: str | None) -> str:
    language = value or get_language() or "en"
    if language not in LANGUAGES:
        raise HttpError(
            400,
            _("Unknown language “%(value)s”. Choose one of: %(choices)s.")
            % {"value": language, "choices": ", ".join(LANGUAGES)},
        )
    return language


def _doc_out(script: Script, language: str) -> dict:
    try:
        text, used = docs.doc_read(script, language)
        path = docs.doc_relpath(script, used or language)
    except docs.DocPathError as error:
        raise HttpError(400, str(error)) from None
    return {
        "script_id": script.pk,
        "requested_language": language,
        "language": used,
        "exists": text is not None,
        "markdown": text or "",
        "html": docs.markdown_render(text, image_url=docs.doc_image_url_for(script, used))
        if text
        else "",
        "path": path,
    }


def _doc_write(script: Script, language: str, text: str) -> None:
    """Write the doc or answer 400 naming what is wrong (path, size, missing folder)."""
    try:
        docs.doc_write(script, language, text)
    except (ValueError, OSError) as error:  # DocPathError is a ValueError
        raise HttpError(400, str(error)) from None


# --- Groups and scripts ------------------------------------------------------------


@router.get("/script-groups", response=list[GroupOut])
def script_groups(request: HttpRequest):
    environments = selectors.environments_by_name()
    return [
        group_out(g, request.user, environments)
        for g in selectors.groups_visible_to(user=request.user)
    ]


@router.get("/script-groups/{group_id}/scripts", response=list[ScriptOut])
def group_scripts(request: HttpRequest, group_id: int):
    group = selectors.group_get_visible(user=request.user, group_id=group_id)
    scripts = list(selectors.scripts_visible_to(user=request.user, group=group))
    personal = selectors.personal_tags_by_script(user=request.user, scripts=scripts)
    return [script_out(s, request.user, personal) for s in scripts]


@router.post("/script-groups/{group_id}/refresh", response=SummaryOut)
@require_level(Level.DEVELOPER)
def group_refresh(request: HttpRequest, group_id: int):
    """Re-read the group's files now; fields edited in the UI are kept."""
    group = selectors.group_get_visible(user=request.user, group_id=group_id)
    return services.group_refresh(group=group).as_dict()


@router.post("/script-groups/{group_id}/conda", response=GroupOut)
@require_level(Level.DEVELOPER)
def group_environment(request: HttpRequest, group_id: int, payload: EnvironmentIn):
    group = selectors.group_get_visible(user=request.user, group_id=group_id)
    group = services.group_environment_set(
        group=group, user=request.user, environment=payload.environment
    )
    group = selectors.group_get_visible(user=request.user, group_id=group.pk)
    return group_out(group, request.user, selectors.environments_by_name())


@router.get("/scripts/search-tags", response=list[ScriptOut])
def search_tags(request: HttpRequest, tags: str, match: Literal["all", "any"] = "all"):
    """Scripts carrying the comma-separated `tags` (system or personal ones)."""
    wanted = [t.strip() for t in tags.split(",") if t.strip()]
    if not wanted:
        raise HttpError(400, _("Give at least one tag, e.g. ?tags=thermal,report."))
    found = selectors.scripts_search_tags(user=request.user, tags=wanted, match=match)
    personal = selectors.personal_tags_by_script(user=request.user, scripts=found)
    return [script_out(s, request.user, personal) for s in found]


@router.get("/scripts/{script_id}/metadata", response=MetadataOut)
def script_metadata(request: HttpRequest, script_id: int):
    """Every field with all four translations, and which fields a person edited."""
    script = selectors.script_get_visible(user=request.user, script_id=script_id)
    return metadata_out(script, request.user)


@router.put("/scripts/{script_id}/metadata", response=MetadataOut)
@require_level(Level.DEVELOPER)
def script_metadata_update(request: HttpRequest, script_id: int, payload: MetadataIn):
    script = selectors.script_get_visible(user=request.user, script_id=script_id)
    changes = payload.dict(exclude_unset=True)
    reset = changes.pop("reset", [])
    script = services.script_metadata_update(
        script=script, user=request.user, changes=changes, reset=reset
    )
    return metadata_out(script, request.user)


@router.post("/scripts/{script_id}/refresh-metadata", response=MetadataOut)
@require_level(Level.DEVELOPER)
def script_refresh(request: HttpRequest, script_id: int):
    script = selectors.script_get_visible(user=request.user, script_id=script_id)
    return metadata_out(services.script_metadata_refresh(script=script), request.user)


# --- Documentation -------------------------------------------------------------------


@router.get("/scripts/{script_id}/description-long", response=DocOut)
def script_doc(request: HttpRequest, script_id: int, language: str | None = None):
    """The long description (Markdown and sanitised HTML) in `language`, the
    user's language by default, falling back to English."""
    script = selectors.script_get_visible(user=request.user, script_id=script_id)
    return _doc_out(script, _language(language))


@router.put("/scripts/{script_id}/description-long", response=DocOut)
@require_level(Level.DEVELOPER)
def script_doc_save(request: HttpRequest, script_id: int, payload: DocIn):
    script = selectors.script_get_visible(user=request.user, script_id=script_id)
    language = _language(payload.language)
    _doc_write(script, language, payload.markdown)
    audit_record(
        action=AuditEvent.Action.DOCS_EDITED,
        actor=request.user,
        request=request,
        target=script,
        details={"language": language, "file": docs.doc_relpath(script, language)},
    )
    return _doc_out(script, language)


@router.post("/scripts/{script_id}/description-long/preview", response=PreviewOut)
@require_level(Level.DEVELOPER)
def script_doc_preview(request: HttpRequest, script_id: int, payload: PreviewIn):
    script = selectors.script_get_visible(user=request.user, script_id=script_id)
    image_url = docs.doc_image_url_for(script, _language(payload.language))
    return {"html": docs.markdown_render(payload.markdown, image_url=image_url)}


@router.post("/scripts/{script_id}/description-long/template", response={200: DocOut, 409: DocOut})
@require_level(Level.DEVELOPER)
def script_doc_template(request: HttpRequest, script_id: int, payload: TemplateIn):
    """Write a generated documentation template for `language` when it has none."""
    script = selectors.script_get_visible(user=request.user, script_id=script_id)
    language = _language(payload.language)
    existing, used = docs.doc_read(script, language)
    if existing is not None and used == language and not payload.overwrite:
        raise HttpError(409, _("This script already has documentation in that language."))
    _doc_write(script, language, docs.doc_template(script, language))
    return _doc_out(script, language)


# --- Tags ----------------------------------------------------------------------------


@router.get("/scripts/{script_id}/tags", response=TagsOut)
def script_tags(request: HttpRequest, script_id: int):
    script = selectors.script_get_visible(user=request.user, script_id=script_id)
    personal = selectors.personal_tags_by_script(user=request.user, scripts=[script])
    return {"system": script.tags, "personal": personal.get(script.pk, [])}


@router.put("/scripts/{script_id}/tags", response=TagsOut)
def script_tags_set(request: HttpRequest, script_id: int, payload: TagsIn):
    """Replace your personal tags on the script (others never see them)."""
    script = selectors.script_get_visible(user=request.user, script_id=script_id)
    personal = services.personal_tags_set(user=request.user, script=script, tags=payload.tags)
    return {"system": script.tags, "personal": personal}


@router.get("/user/tags", response=list[TagCount])
def user_tags(request: HttpRequest):
    return selectors.user_tag_counts(user=request.user)


# --- Environments -----------------------------------------------------------------------


@router.get("/conda/environments", response=list[EnvironmentOut])
def conda_environments(request: HttpRequest):
    return CondaEnvironment.objects.all()


@router.post("/conda/refresh", response=list[EnvironmentOut])
@require_level(Level.DEVELOPER)
def conda_refresh(request: HttpRequest):
    return environments_refresh()


@router.get("/conda/environments/{name}/info", response=EnvironmentOut)
def conda_environment_info(request: HttpRequest, name: str):
    environment = CondaEnvironment.objects.filter(name=name).first()
    if environment is None:
        raise HttpError(404, _("No environment named “%(name)s”.") % {"name": name})
    return environment
