"""The one definition of user levels, their order, and the checks built on it.

admin > developer > operator > viewer. Views, API handlers and consumers all
ask through `user_has_level` / `require_level`, never by comparing strings.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Level(models.TextChoices):
    VIEWER = "viewer", gettext_lazy("Viewer")
    OPERATOR = "operator", gettext_lazy("Operator")
    DEVELOPER = "developer", gettext_lazy("Developer")
    ADMIN = "admin", gettext_lazy("Administrator")


LEVEL_ORDER: tuple[str, ...] = (Level.VIEWER, Level.OPERATOR, Level.DEVELOPER, Level.ADMIN)


class UnknownLevel(ValueError):
    """Raised for a level name that is not one of LEVEL_ORDER."""

    def __init__(self, level: object) -> None:
        self.level = level
        super().__init__(
            f"Unknown user level {level!r}; expected one of: {', '.join(LEVEL_ORDER)}."
        )


def level_rank(level: str) -> int:
    """Position of `level` in LEVEL_ORDER (viewer is 0); raises UnknownLevel."""
    try:
        return LEVEL_ORDER.index(level)
    except ValueError:
        raise UnknownLevel(level) from None


def levels_up_to(level: str) -> list[str]:
    """The levels at or below `level`: what a user of that level may see."""
    return list(LEVEL_ORDER[: level_rank(level) + 1])


def level_at_least(level: str, required: str) -> bool:
    """True when `level` is `required` or above it. Both must be known levels."""
    return level_rank(level) >= level_rank(required)


def user_has_level(user: Any, required: str) -> bool:
    """True for an authenticated, active user at `required` level or above."""
    level_rank(required)  # a typo in the caller must fail loudly, not deny quietly
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not user.is_active:
        return False
    return level_at_least(user.user_level, required)


def ensure_level(user: Any, required: str) -> None:
    """Raise PermissionDenied unless `user` has at least `required` level."""
    if not user_has_level(user, required):
        raise PermissionDenied(
            _("This action needs the %(level)s level or above.") % {"level": Level(required).label}
        )


def require_level(required: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for views and API handlers whose first argument is the request.

    Anonymous requests never reach the check: the login middleware (pages) and
    the API's session authentication answer them first.
    """
    level_rank(required)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            ensure_level(request.user, required)
            return view(request, *args, **kwargs)

        wrapper.required_level = required  # type: ignore[attr-defined]
        return wrapper

    return decorator
