"""Project pages: your projects per script group, and one project's data files.

Both are shells around the JSON APIs (projects/api.py, projects/api_data.py):
every change goes through them, so the pages and the API refuse the same things.
"""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.models import AuditEvent
from accounts.services import audit_access_refused
from catalog import selectors as catalog_selectors
from projects import selectors, services
from projects.models import UserProject


@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    """Queries do not grow with the number of projects: groups, projects, and
    (on the first visit only) the missing default projects."""
    groups = list(catalog_selectors.groups_visible_to(user=request.user))
    projects = list(selectors.projects_of(user=request.user))
    if services.project_ensure_defaults(user=request.user, groups=groups, existing=projects):
        projects = list(selectors.projects_of(user=request.user))
    sections = selectors.projects_by_group(
        groups=groups, projects=projects, session=request.session
    )
    total = len(projects)
    limit = settings.MAX_PROJECTS_PER_USER
    return render(
        request,
        "projects/list.html",
        {
            "sections": sections,
            "groups": groups,
            "total": total,
            "limit": limit,
            "at_limit": total >= limit,
            "usage_percent": min(100, round(100 * total / limit)),
            "hidden": total - sum(len(s.rows) for s in sections),
        },
    )


def _project_get_own(request: HttpRequest, project_id: int) -> UserProject:
    """The user's project in a group they can see; 404 otherwise, exactly like
    a missing one. A try at someone else's is audited as the data API does."""
    project = selectors.project_get_own(user=request.user, project_id=project_id)
    if project is None:
        other = UserProject.objects.filter(pk=project_id).only("pk", "name").first()
        if other is not None:
            audit_access_refused(
                request=request, action=AuditEvent.Action.DATA_ACCESS_REFUSED, target=other
            )
        raise Http404(_("Not found."))
    catalog_selectors.group_get_visible(user=request.user, group_id=project.group_id)
    return project


@require_GET
def project_files(request: HttpRequest, project_id: int) -> HttpResponse:
    """The files come from GET /api/data/<group>/<project>/files."""
    project = _project_get_own(request, project_id)
    return render(
        request,
        "projects/files.html",
        {
            "project": project,
            "is_active": services.project_for_run(request=request, group=project.group).pk
            == project.pk,
            "data_url": f"/api/data/{project.group_id}/{project.pk}",
        },
    )
