import os

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.levels import Level, user_has_level
from catalog import docs, selectors
from catalog.api import parameters_for_display
from catalog.header import LANGUAGES
from execution import selectors as execution_selectors
from projects.models import DEFAULT_PROJECT_NAME, UserProject
from projects.services import SESSION_KEY, project_active_id, project_ensure_default


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    environments = selectors.environments_by_name()
    chosen = {int(k): v for k, v in (request.session.get(SESSION_KEY) or {}).items()}
    active_names: dict[int, str] = {}
    for project in UserProject.objects.filter(user=request.user).only("pk", "group_id", "name"):
        if chosen.get(project.group_id) == project.pk or (
            project.name == DEFAULT_PROJECT_NAME and project.group_id not in active_names
        ):
            active_names[project.group_id] = project.name
    groups = [
        (
            group,
            selectors.environment_status(group.conda_environment, environments),
            active_names.get(group.pk, DEFAULT_PROJECT_NAME),
        )
        for group in selectors.groups_visible_to(user=request.user)
    ]
    return render(
        request,
        "catalog/dashboard.html",
        {
            "groups": groups,
            "recent_scripts": selectors.recent_scripts_for(user=request.user),
            "interfaces": execution_selectors.interfaces_of(user=request.user),
        },
    )


@require_GET
def group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.group_get_visible(user=request.user, group_id=group_id)
    scripts = list(selectors.scripts_visible_to(user=request.user, group=group))
    personal = selectors.personal_tags_by_script(user=request.user, scripts=scripts)
    environments = selectors.environments_by_name()
    is_developer = user_has_level(request.user, Level.DEVELOPER)
    projects = list(UserProject.objects.filter(user=request.user, group=group).order_by("name"))
    default = next((p for p in projects if p.name == DEFAULT_PROJECT_NAME), None)
    if default is None:  # first visit: create it, once
        default = project_ensure_default(user=request.user, group=group)
        projects = sorted([*projects, default], key=lambda p: p.name)
    chosen = project_active_id(request.session, group.pk)
    active = next((p for p in projects if p.pk == chosen), default)
    rows = []
    all_tags: dict[str, str] = {}
    for script in scripts:
        tags = personal.get(script.pk, [])
        for tag in [*script.tags, *tags]:
            all_tags.setdefault(tag.lower(), tag)
        rows.append(
            {
                "script": script,
                "personal_tags": tags,
                "parameters": parameters_for_display(script.parameters),
                "runnable": script.is_runnable_by(request.user),
                "search_text": " ".join(
                    [
                        script.display_name,
                        script.filename,
                        script.description or "",
                        *script.tags,
                        *tags,
                    ]
                ).lower(),
            }
        )
    return render(
        request,
        "catalog/group.html",
        {
            "group": group,
            "rows": rows,
            "all_tags": sorted(all_tags.values(), key=str.lower),
            "environment": selectors.environment_status(group.conda_environment, environments),
            "environments": list(environments.values()) if is_developer else [],
            "is_developer": is_developer,
            "projects": projects,
            "active_project": active,
            "can_run_level": user_has_level(request.user, Level.OPERATOR),
            "levels": Level.choices,
            "languages": LANGUAGES,
        },
    )


@require_GET
def doc_image(request: HttpRequest, group_id: int, path: str) -> FileResponse:
    """An image of a group's docs/ folder, for the documentation that shows it.
    Anything else (a path out of docs/, SVG, HTML, a missing file) is a 404."""
    group = selectors.group_get_visible(user=request.user, group_id=group_id)
    try:
        target, content_type = docs.doc_image_file(group, path)
        # O_NOFOLLOW: a symlink swapped in after the check is refused, not followed.
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (ValueError, OSError):
        raise Http404(_("No such image in this group's documentation.")) from None
    response = FileResponse(os.fdopen(fd, "rb"), content_type=content_type)
    # Even opened on its own, the file is only ever an image: no script, no plugin.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
