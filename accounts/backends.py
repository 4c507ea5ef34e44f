"""Authentication backends: the login throttle is part of authentication, so
every caller of django.contrib.auth.authenticate() (the login page, the API,
the Django admin, any later way in) goes through it."""

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts import throttle
from accounts.models import AuditEvent
from accounts.services import audit_record, client_address


class ThrottledBackendMixin:
    """Reserve the check (accounts.throttle) before the backend compares the
    password, audit a failure, give the reservation back on success.

    A refusal raises throttle.LoginThrottled, which stops authenticate(); the
    refusal is left on `request.login_refusal` for the caller's message.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs,
    ):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            reservation = throttle.attempt_reserve(
                username=username, address=client_address(request), request=request
            )
        except throttle.LoginThrottled as throttled:
            if request is not None:
                request.login_refusal = throttled.refusal
            raise
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            audit_record(
                action=AuditEvent.Action.LOGIN_FAILED,
                actor_username=reservation.username,
                request=request,
            )
        else:
            throttle.attempt_succeeded(reservation)
        return user

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        # ModelBackend's own async version would skip the throttle.
        return await sync_to_async(self.authenticate)(
            request, username=username, password=password, **kwargs
        )


class ThrottledModelBackend(ThrottledBackendMixin, ModelBackend):
    """Django's username and password backend, throttled."""
