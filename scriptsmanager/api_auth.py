"""Authentication classes shared by every API router."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import SessionAuth
from ninja.utils import check_csrf


def _csrf_refuse(request: HttpRequest) -> None:
    if check_csrf(request) is not None:
        raise HttpError(
            403, _("CSRF check failed: send the csrftoken cookie's value in X-CSRFToken.")
        )


class CsrfOnly:
    """For endpoints open to anonymous callers (login, logout) that must still
    refuse a cross-site unsafe request: Django's CSRF check, then allow."""

    def __call__(self, request: HttpRequest) -> bool:
        _csrf_refuse(request)
        return True


class CsrfSessionAuth(SessionAuth):
    """Django session authentication; unsafe methods also pass the CSRF check."""

    def _get_key(self, request: HttpRequest) -> str | None:
        _csrf_refuse(request)
        return request.COOKIES.get(self.param_name)
