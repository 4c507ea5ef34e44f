from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from accounts.levels import Level, user_has_level
from execution import selectors, services


def _interface_or_404(request: HttpRequest, token: str):
    process = selectors.interface_for_token(token)
    if process is None or not (
        process.user_id == request.user.pk or user_has_level(request.user, Level.ADMIN)
    ):
        raise Http404
    return process


@require_GET
def interface_page(request: HttpRequest, token: str) -> HttpResponse:
    """The SIDEL-branded page around a script's interface: status, Stop, heartbeats."""
    process = _interface_or_404(request, token)
    return render(
        request,
        "execution/interface.html",
        {
            "process": process,
            "execution": process.execution,
            "app_url": services.interface_app_url(process),
            "seconds_until_idle": services.seconds_until_idle(process),
        },
    )


@require_POST
def interface_tab_closed(request: HttpRequest, token: str) -> HttpResponse:
    """The tab's close beacon (a form post, so the CSRF token travels in the body)."""
    process = _interface_or_404(request, token)
    services.interface_tab_closed(process=process)
    return HttpResponse(status=204)
