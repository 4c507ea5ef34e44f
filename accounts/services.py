"""Writes for accounts: login and logout, preferences, the first admin, audit."""

import json
import logging
import os
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.levels import Level
from accounts.models import AuditEvent, Language, Theme, User

logger = logging.getLogger(__name__)

ADMIN_ACTIONS = {
    AuditEvent.Action.USER_CREATED,
    AuditEvent.Action.USER_UPDATED,
    AuditEvent.Action.USER_LEVEL_CHANGED,
    AuditEvent.Action.USER_DEACTIVATED,
    AuditEvent.Action.USER_ACTIVATED,
    AuditEvent.Action.USER_DELETED,
    AuditEvent.Action.PASSWORD_RESET,
    AuditEvent.Action.USER_DATA_RESET,
}


def client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    actor_username: str = "",
    request: HttpRequest | None = None,
    target: Any = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Store one audit event and append it as a JSON line under AUDIT_LOG_DIR.

    The file line is written after the row, with O_APPEND so lines from
    several processes never interleave; a failure to write the file is logged
    and does not undo the row.
    """
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_username = actor.username
    else:
        actor = None
    event = AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_username=actor_username[:150],
        ip_address=client_address(request),
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        details=details or {},
    )
    line = json.dumps(
        {
            "time": event.created_at.isoformat(),
            "action": event.action,
            "actor": event.actor_username,
            "address": event.ip_address,
            "target": {"type": event.target_type, "id": event.target_id, "name": event.target_repr},
            "details": event.details,
        },
        ensure_ascii=False,
        default=str,
    )
    name = "admin_actions.log" if action in ADMIN_ACTIONS else "user_actions.log"
    try:
        settings.AUDIT_LOG_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(settings.AUDIT_LOG_DIR / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    except OSError:
        logger.exception("Could not append audit event %s to %s", event.pk, name)
    return event


# --- Login -------------------------------------------------------------------


@dataclass
class LoginRefused(Exception):
    """A refused login. `message` is safe to show: it never says whether the account exists."""

    message: str
    status: int
    retry_after: int = 0


def audit_access_refused(*, request: HttpRequest, action: str, target: Any) -> AuditEvent:
    """Record a try at another user's object (answered 404), with what was asked."""
    return audit_record(
        action=action,
        actor=request.user,
        request=request,
        target=target,
        details={"path": request.path, "method": request.method},
    )


def login_attempt(*, request: HttpRequest, username: str, password: str) -> User:
    """Authenticate and log in; raise LoginRefused (401 wrong credentials, 429 throttled).

    The throttle and the audit of failures live in the authentication backend
    (accounts.backends), which every way in goes through.
    """
    username = (username or "").strip()
    user = auth.authenticate(request, username=username, password=password)
    if user is None:
        refusal = getattr(request, "login_refusal", None)
        if refusal is not None:
            raise LoginRefused(refusal.message, status=429, retry_after=refusal.retry_after)
        raise LoginRefused(_("Invalid username or password."), status=401)
    auth.login(request, user)
    translation.activate(user.preferred_language)
    audit_record(action=AuditEvent.Action.LOGIN, actor=user, request=request)
    return user


def logout_perform(*, request: HttpRequest) -> None:
    if request.user.is_authenticated:
        audit_record(action=AuditEvent.Action.LOGOUT, actor=request.user, request=request)
    auth.logout(request)


# --- Preferences ---------------------------------------------------------------


def preferences_validate(*, language: str | None, theme: str | None) -> None:
    """Raise ValidationError naming each unknown value; None means 'leave as is'."""
    errors = {}
    if language is not None and language not in Language.values:
        errors["language"] = _("Unknown language “%(value)s”. Choose one of: %(choices)s.") % {
            "value": language,
            "choices": ", ".join(Language.values),
        }
    if theme is not None and theme not in Theme.values:
        errors["theme"] = _("Unknown theme “%(value)s”. Choose one of: %(choices)s.") % {
            "value": theme,
            "choices": ", ".join(Theme.values),
        }
    if errors:
        raise ValidationError(errors)


def preferences_update(
    *, user: User, language: str | None = None, theme: str | None = None
) -> User:
    """Validate both values first, then save them together: nothing half-written."""
    preferences_validate(language=language, theme=theme)
    fields = []
    if language is not None and language != user.preferred_language:
        user.preferred_language = language
        fields.append("preferred_language")
    if theme is not None and theme != user.preferred_theme:
        user.preferred_theme = theme
        fields.append("preferred_theme")
    if fields:
        user.save(update_fields=fields)
    return user


# --- Users --------------------------------------------------------------------


def admin_ensure(*, password: str | None = None) -> tuple[User | None, str | None]:
    """Create the first administrator when no admin-level account exists yet.

    Returns (user, password) when it created one, the password being the
    given one or a fresh random one; (None, None) when an admin already exists,
    so running start-up again never adds a second admin or resets a password.
    """
    if User.objects.filter(user_level=Level.ADMIN).exists():
        return None, None
    if User.objects.filter(username__iexact=settings.ADMIN_USERNAME).exists():
        return None, None
    password = password or secrets.token_urlsafe(12)
    user = User.objects.create_user(
        username=settings.ADMIN_USERNAME,
        email=settings.ADMIN_EMAIL,
        password=password,
        user_level=Level.ADMIN,
    )
    audit_record(action=AuditEvent.Action.USER_CREATED, target=user, details={"by": "first start"})
    return user, password


USER_AUDITED_FIELDS = ("username", "email", "user_level", "is_active", "preferred_language")


def user_snapshot(user: User) -> dict[str, Any]:
    return {field: getattr(user, field) for field in USER_AUDITED_FIELDS}


def user_changes_audit(
    *, request: HttpRequest | None, user: User, before: dict[str, Any] | None
) -> None:
    """Audit a create or an edit of `user`, given its state before the save."""
    actor = getattr(request, "user", None)
    if before is None:
        audit_record(
            action=AuditEvent.Action.USER_CREATED,
            actor=actor,
            request=request,
            target=user,
            details={"user_level": user.user_level},
        )
        return
    after = user_snapshot(user)
    changed = {k: [before[k], after[k]] for k in USER_AUDITED_FIELDS if before[k] != after[k]}
    if "user_level" in changed:
        old, new = changed.pop("user_level")
        audit_record(
            action=AuditEvent.Action.USER_LEVEL_CHANGED,
            actor=actor,
            request=request,
            target=user,
            details={"from": old, "to": new},
        )
    if "is_active" in changed:
        changed.pop("is_active")
        audit_record(
            action=AuditEvent.Action.USER_ACTIVATED
            if user.is_active
            else AuditEvent.Action.USER_DEACTIVATED,
            actor=actor,
            request=request,
            target=user,
        )
    if changed:
        audit_record(
            action=AuditEvent.Action.USER_UPDATED,
            actor=actor,
            request=request,
            target=user,
            details={"changed": changed},
        )
