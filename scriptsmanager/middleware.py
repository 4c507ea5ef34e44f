"""Request checks that hold for every page and API call."""

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

DATA_FILES_PATH = "/api/data/"


def _nul_field(request: HttpRequest) -> str | None:
    """The name of the first query, form or JSON field holding a NUL character."""
    sources = [request.GET]
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        sources.append(request.POST)
    for source in sources:
        for key, values in source.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return key.replace("\x00", "")
    # NUL arrives escaped in JSON; a raw one is not JSON at all. Data files
    # are stored on disk, where any JSON is fine.
    if (
        request.content_type == "application/json"
        and not request.path_info.startswith(DATA_FILES_PATH)
        and (b"\\u0000" in request.body or b"\x00" in request.body)
    ):
        try:
            body = json.loads(request.body)
        except ValueError:
            return "body"
        return _json_nul_path(body, "") or None
    return None


def _json_nul_path(value: object, path: str) -> str:
    if isinstance(value, str):
        return path or "body" if "\x00" in value else ""
    if isinstance(value, dict):
        for key, item in value.items():
            found = _json_nul_path(key, path) or _json_nul_path(
                item, f"{path}.{key}" if path else str(key)
            )
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _json_nul_path(item, f"{path}[{index}]")
            if found:
                return found
    return ""


class RejectNulCharactersMiddleware:
    """Answers 400 for input holding a NUL character, which no text column can
    store on PostgreSQL (and no legitimate form or search needs), instead of a
    database error. Files go through upload bodies, which are not checked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        message = _("“%(field)s” contains a NUL character (\\0), which is not allowed.") % {
            "field": field
        }
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {"detail": message, "errors": [{"field": field, "message": message}]}, status=400
            )
        return render(request, "errors/400.html", {"message": message}, status=400)


API_PATH = "/api/"


class ApiNoStoreMiddleware:
    """Marks every API answer `Cache-Control: no-store`: they hold one user's
    data (logs, projects, audit records), which no browser or proxy cache should
    keep for the next person at a shared plant workstation."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith(API_PATH):
            response.headers["Cache-Control"] = "no-store"
        return response
