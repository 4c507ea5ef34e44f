from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.i18n import JSONCatalog
from ninja import Field, Query, Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from accounts import selectors, services
from accounts.levels import Level, require_level
from accounts.models import Language, Theme
from scriptsmanager.api_auth import CsrfOnly

router = Router()


class UserOut(Schema):
    id: int
    username: str
    email: str
    user_level: Level
    preferred_language: Language
    preferred_theme: Theme
    is_active: bool
    is_staff: bool
    last_login: datetime | None
    date_joined: datetime


class SessionOut(Schema):
    authenticated: bool
    user: UserOut | None
    csrf_token: str


class LoginIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=4096)


class DetailOut(Schema):
    detail: str


class PreferencesIn(Schema):
    language: str | None = None
    theme: str | None = None


class LanguageOut(Schema):
    code: str
    name: str
    name_local: str


class LanguagesOut(Schema):
    languages: list[LanguageOut]
    default: str
    current: str


class AuditEventOut(Schema):
    id: int
    created_at: datetime
    action: str
    actor_username: str
    ip_address: str | None
    target_type: str
    target_id: str
    target_repr: str
    details: dict


class AuditFilter(Schema):
    action: str | None = None
    username: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _session(request: HttpRequest) -> dict:
    user = request.user if request.user.is_authenticated else None
    return {"authenticated": user is not None, "user": user, "csrf_token": get_token(request)}


@router.get("/auth/user", response=SessionOut, auth=None, tags=["auth"])
@decorate_view(ensure_csrf_cookie)
def auth_user(request: HttpRequest):
    """The logged-in user, or `authenticated: false`. Always sets the CSRF cookie."""
    return _session(request)


@router.post(
    "/auth/login",
    response={200: SessionOut, 401: DetailOut, 429: DetailOut},
    auth=CsrfOnly(),
    tags=["auth"],
)
def auth_login(request: HttpRequest, payload: LoginIn, response: HttpResponse):
    """Log in. Repeated failures for one account or address are refused with 429."""
    try:
        services.login_attempt(
            request=request, username=payload.username, password=payload.password
        )
    except services.LoginRefused as refused:
        if refused.retry_after:
            response["Retry-After"] = str(refused.retry_after)
        return Status(refused.status, {"detail": refused.message})
    return Status(200, _session(request))


@router.post("/auth/logout", response=DetailOut, auth=CsrfOnly(), tags=["auth"])
def auth_logout(request: HttpRequest):
    services.logout_perform(request=request)
    return {"detail": _("Logged out.")}


@router.post("/user/preferences", response=UserOut, tags=["user"])
def user_preferences(request: HttpRequest, payload: PreferencesIn):
    """Change language and/or theme; both are validated before either is saved."""
    if payload.language is None and payload.theme is None:
        raise ValidationError(_("Give a language, a theme or both."))
    return services.preferences_update(
        user=request.user, language=payload.language, theme=payload.theme
    )


@router.get("/i18n/languages", response=LanguagesOut, tags=["i18n"])
def i18n_languages(request: HttpRequest):
    return {
        "languages": [
            {"code": code, "name": str(name), "name_local": Language(code).label}
            for code, name in settings.LANGUAGES
        ],
        "default": settings.LANGUAGE_CODE,
        "current": translation.get_language(),
    }


@router.get("/i18n/{language}", tags=["i18n"])
def i18n_catalog(request: HttpRequest, language: str):
    """The browser's translation catalog (Django's JSONCatalog format) for `language`."""
    if language not in Language.values:
        raise HttpError(
            404,
            _("Unknown language “%(value)s”. Choose one of: %(choices)s.")
            % {"value": language, "choices": ", ".join(Language.values)},
        )
    with translation.override(language):
        return JSONCatalog.as_view(domain="djangojs")(request)


@router.get("/admin/logs/audit", response=list[AuditEventOut], tags=["admin"])
@require_level(Level.ADMIN)
@paginate(PageNumberPagination, page_size=50)
def admin_audit_log(request: HttpRequest, filters: Query[AuditFilter]):
    return selectors.audit_events(
        action=filters.action, username=filters.username, since=filters.since, until=filters.until
    )
