from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accounts.levels import Level, user_has_level
from accounts.models import Language, Theme


def current_theme(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.preferred_theme
    theme = request.COOKIES.get(settings.THEME_COOKIE_NAME, Theme.LIGHT)
    return theme if theme in Theme.values else Theme.LIGHT


def ui(request: HttpRequest) -> dict[str, Any]:
    """What the base template needs on every page: theme, languages, branding."""
    user = getattr(request, "user", None)
    return {
        "can_run": user_has_level(user, Level.OPERATOR),
        "can_edit": user_has_level(user, Level.DEVELOPER),
        "ui_theme": current_theme(request),
        "ui_languages": Language.choices,
        "ui_themes": Theme.choices,
        "heartbeat_interval": settings.HEARTBEAT_INTERVAL,
        "idle_warning_seconds": settings.IDLE_WARNING_SECONDS,
    }
