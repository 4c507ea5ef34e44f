from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from catalog.conda import conda_executable
from execution.selectors import active_script_count, port_usage


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure means "not healthy"; the reason goes to the log
        return False


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for monitors and load balancers: 200 when healthy, 503 otherwise."""
    database_ok = _database_ok()
    conda = conda_executable()
    body = {
        "status": "healthy" if database_ok else "unhealthy",
        "timestamp": timezone.now().isoformat(),
        "database": {"ok": database_ok, "vendor": connection.vendor},
        "conda": {"available": conda is not None, "executable": str(conda) if conda else None},
        "active_scripts": active_script_count(),
        "port_usage": port_usage(),
    }
    return JsonResponse(body, status=200 if database_ok else 503)


@login_not_required
@require_GET
@cache_control(public=True, max_age=3600)
def branding_logo(request: HttpRequest) -> FileResponse:
    """The corporate logo: BRANDING_LOGO when it exists, the bundled one otherwise."""
    logo = Path(settings.BRANDING_LOGO)
    if not logo.is_file():
        logo = settings.BASE_DIR / "static" / "images" / "SIDEL.png"
    return FileResponse(logo.open("rb"))


@login_not_required
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", {"reason": str(exception or "")}, status=403)


@login_not_required
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": _("Not found."), "errors": []}, status=404)
    return render(request, "errors/404.html", status=404)


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/500.html", status=500)
