"""The login throttle: every password check is reserved here first.

Three keys count checks within LOGIN_THROTTLE_WINDOW seconds: the (account,
address) pair and the address refuse at their limits; the account, from any
address, is only slowed down (exponential back-off, capped), so failures sent
from elsewhere never keep its owner out for long, and not at all from an
address the owner has logged in from before. A check is counted under a row
lock before the password is compared, so parallel guesses cannot all get
through; a success gives its reservation back.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import AuditEvent, LoginThrottle
from accounts.services import audit_record

Scope = LoginThrottle.Scope


@dataclass(frozen=True)
class Refusal:
    """Why and for how long (whole seconds, at least 1) a login is refused."""

    retry_after: int
    scope: str

    @property
    def message(self) -> str:
        if self.retry_after < 60:
            return ngettext(
                "Too many failed login attempts. Try again in %(seconds)d second.",
                "Too many failed login attempts. Try again in %(seconds)d seconds.",
                self.retry_after,
            ) % {"seconds": self.retry_after}
        minutes = math.ceil(self.retry_after / 60)
        return ngettext(
            "Too many failed login attempts. Try again in %(minutes)d minute.",
            "Too many failed login attempts. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}


class LoginThrottled(PermissionDenied):
    """Raised by the authentication backend: Django's authenticate() then stops
    and returns None, so no other backend checks the password either."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(_("Too many failed login attempts."))
        self.refusal = refusal


@dataclass(frozen=True)
class Reservation:
    """One counted password check, to give back with attempt_succeeded()."""

    username: str
    address: str


def _keys(username: str, address: str) -> list[tuple[str, str, str]]:
    keys = [(Scope.ACCOUNT, "", username)]
    if address:
        keys += [(Scope.ADDRESS, address, ""), (Scope.PAIR, address, username)]
    return sorted(keys)


def _locked_rows(keys: list[tuple[str, str, str]]) -> dict[str, LoginThrottle]:
    """The rows of `keys`, locked until the transaction ends, by scope."""
    match = Q()
    for scope, address, username in keys:
        match |= Q(scope=scope, address=address, username=username)
    rows = LoginThrottle.objects.select_for_update().filter(match)
    # One order for every caller, so two transactions never wait on each other in a cycle.
    return {row.scope: row for row in rows.order_by("scope", "address", "username")}


def _normalise(username: str, address: str | None) -> tuple[str, str]:
    return username.strip().lower()[:150], (address or "")[:64]


def _backoff_seconds(checks: int) -> int:
    doublings = min(checks - settings.LOGIN_BACKOFF_AFTER - 1, 32)
    return min(
        settings.LOGIN_BACKOFF_BASE_SECONDS * 2**doublings, settings.LOGIN_BACKOFF_MAX_SECONDS
    )


def _refusal(rows: dict[str, LoginThrottle], now: datetime, window: timedelta) -> Refusal | None:
    waits: dict[str, datetime] = {}
    limits = {
        Scope.ADDRESS: settings.LOGIN_THROTTLE_MAX_PER_ADDRESS,
        Scope.PAIR: settings.LOGIN_THROTTLE_MAX_PER_PAIR,
    }
    for scope, limit in limits.items():
        row = rows.get(scope)
        if row is not None and row.failures >= limit:
            waits[scope] = row.window_started_at + window
    account = rows[Scope.ACCOUNT]
    pair = rows.get(Scope.PAIR)
    known_pair = pair is not None and pair.succeeded_at is not None
    if account.blocked_until and account.blocked_until > now and not known_pair:
        waits[Scope.ACCOUNT] = account.blocked_until
    if not waits:
        return None
    # The burst is counted on the broadest key that refuses (address, pair, account).
    scope = next(s for s in (Scope.ADDRESS, Scope.PAIR, Scope.ACCOUNT) if s in waits)
    seconds = math.ceil((max(waits.values()) - now).total_seconds())
    return Refusal(retry_after=max(1, seconds), scope=scope)


def _burst_count(
    *,
    row: LoginThrottle,
    refusal: Refusal,
    username: str,
    request: HttpRequest | None,
    now: datetime,
    window: timedelta,
) -> None:
    """Audit a refused login once per key and window; later refusals add to its count."""
    event = row.burst
    if event is not None and event.created_at > now - window:
        event.details = {
            **event.details,
            "count": int(event.details.get("count", 1)) + 1,
            "last": now.isoformat(),
        }
        event.save(update_fields=["details"])
        return
    row.burst = audit_record(
        action=AuditEvent.Action.LOGIN_THROTTLED,
        actor_username=username,
        request=request,
        details={"count": 1, "scope": refusal.scope, "retry_after": refusal.retry_after},
    )


def attempt_reserve(
    *, username: str, address: str | None, request: HttpRequest | None = None
) -> Reservation:
    """Count one password check for `username` from `address` (None: unknown).

    Raises LoginThrottled, counting nothing but the refusal, when the pair or
    the address is at its limit or the account is in its back-off.
    """
    username, address = _normalise(username, address)
    keys = _keys(username, address)
    window = timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW)
    with transaction.atomic():
        now = timezone.now()
        LoginThrottle.objects.bulk_create(
            [
                LoginThrottle(scope=s, address=a, username=u, window_started_at=now)
                for s, a, u in keys
            ],
            ignore_conflicts=True,
        )
        rows = _locked_rows(keys)
        for row in rows.values():
            row.updated_at = now
            if row.window_started_at <= now - window:
                row.failures = 0
                row.window_started_at = now
        refusal = _refusal(rows, now, window)
        if refusal is None:
            for row in rows.values():
                row.failures += 1
            account = rows[Scope.ACCOUNT]
            if account.failures > settings.LOGIN_BACKOFF_AFTER:
                # Set before the check, so parallel guesses meet it too.
                account.blocked_until = now + timedelta(seconds=_backoff_seconds(account.failures))
        else:
            _burst_count(
                row=rows[refusal.scope],
                refusal=refusal,
                username=username,
                request=request,
                now=now,
                window=window,
            )
        LoginThrottle.objects.bulk_update(
            rows.values(), ["failures", "window_started_at", "blocked_until", "burst", "updated_at"]
        )
    _stale_prune(now=now)
    if refusal is not None:
        raise LoginThrottled(refusal)
    return Reservation(username=username, address=address)


def attempt_succeeded(reservation: Reservation) -> None:
    """The password was right: clear the pair and the account, give the address its check back."""
    with transaction.atomic():
        now = timezone.now()
        rows = _locked_rows(_keys(reservation.username, reservation.address))
        for row in rows.values():
            if row.scope == Scope.ADDRESS:
                # The address keeps its other checks: one address must not probe many accounts.
                row.failures = max(0, row.failures - 1)
            else:
                row.failures = 0
            if row.scope == Scope.ACCOUNT:
                row.blocked_until = None
            if row.scope == Scope.PAIR:
                row.succeeded_at = now
            row.updated_at = now
        LoginThrottle.objects.bulk_update(
            rows.values(), ["failures", "blocked_until", "succeeded_at", "updated_at"]
        )


def _stale_prune(*, now: datetime) -> None:
    """Drop keys idle for longer than any window or back-off, except known pairs.

    Outside the reserving transaction: it holds no lock then, so it cannot
    deadlock with another worker's reservation.
    """
    idle = max(settings.LOGIN_THROTTLE_WINDOW, settings.LOGIN_BACKOFF_MAX_SECONDS)
    LoginThrottle.objects.filter(
        updated_at__lt=now - timedelta(seconds=2 * idle), succeeded_at__isnull=True
    ).delete()
