"""The JSON API: one NinjaAPI, session-authenticated, CSRF-checked, with
uniform error bodies: `{"detail": "...", "errors": [{"field", "message"}]}`.
"""

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from accounts.api import router as accounts_router
from accounts.api_admin import router as accounts_admin_router
from backups.api import router as backups_router
from catalog.api import router as catalog_router
from execution.api import router as execution_router
from logs.api import router as logs_router
from projects.api import router as projects_router
from projects.api_data import router as data_router
from scriptsmanager.api_auth import CsrfSessionAuth

api = NinjaAPI(
    title="SIDEL ScriptsManager API",
    version="1",
    description="Session-authenticated JSON API. Log in with POST /api/auth/login; "
    "send the csrftoken cookie back as the X-CSRFToken header on every unsafe request.",
    auth=CsrfSessionAuth(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    docs_decorator=login_required,
)
api.add_router("", accounts_router)
api.add_router("", accounts_admin_router)
api.add_router("", catalog_router)
api.add_router("", execution_router)
api.add_router("", logs_router)
api.add_router("", projects_router)
api.add_router("", data_router)
api.add_router("", backups_router)


def _field_of(location: list[Any]) -> str:
    # Ninja locations look like ["body", "payload", "language"] or ["query", "page"].
    parts = [str(p) for p in location[1:] if p != "payload"]
    return ".".join(parts) or str(location[0] if location else "body")


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {"field": _field_of(list(e.get("loc", []))), "message": e.get("msg", "")}
        for e in exc.errors
    ]
    if any(e["field"] == "body" for e in errors):
        detail = _("The request needs a JSON body.")
    else:
        detail = _("Invalid request: %(fields)s.") % {
            "fields": "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        }
    return api.create_response(request, {"detail": detail, "errors": errors}, status=400)


@api.exception_handler(DjangoValidationError)
def _django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": field, "message": " ".join(messages)}
            for field, messages in exc.message_dict.items()
        ]
    else:
        errors = [{"field": "", "message": m} for m in exc.messages]
    detail = " ".join(e["message"] for e in errors)
    return api.create_response(request, {"detail": detail, "errors": errors}, status=400)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, json.JSONDecodeError):
        message = _("The request body is not valid JSON (%(error)s).") % {"error": exc.__cause__}
        return api.create_response(request, {"detail": message, "errors": []}, status=400)
    if isinstance(exc, AuthenticationError):
        message = _("Authentication required: log in first.")
    else:
        message = str(exc)
    return api.create_response(request, {"detail": message, "errors": []}, status=exc.status_code)


@api.exception_handler(PermissionDenied)
def _permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    message = str(exc) or _("You do not have permission to do this.")
    return api.create_response(request, {"detail": message, "errors": []}, status=403)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": _("Not found."), "errors": []}, status=404)
