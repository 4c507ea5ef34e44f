"""The exact-origin check in front of every WebSocket route.

Channels' AllowedHostsOriginValidator compares host names only, so a page on
another port or scheme of the same host (another script's interface, opened
by a logged-in user) could open a socket with the user's cookies. A browser
always sends Origin on a WebSocket handshake; it must be exactly the
manager's own origin (scheme, host and port) or one of CSRF_TRUSTED_ORIGINS.
"""

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_normalize(value: str) -> str | None:
    """ "scheme://host:port" with the default port spelled out, lowercased;
    None for anything that is not an http(s) origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS[scheme]}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def request_origin(scope: Scope) -> str | None:
    """The origin the client reached: its Host header (when allowed) with the
    connection's scheme (TrustedProxyHeaders has already taken it from
    X-Forwarded-Proto when a trusted proxy sent one, and dropped the header
    from anyone else)."""
    host = _header(scope, b"host")
    if host is None:
        return None
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "ws"), scope.get("scheme"))
    return origin_normalize(f"{scheme}://{host}")


def origin_allowed(scope: Scope) -> bool:
    """True when the handshake's Origin is exactly the request's own origin or
    a trusted one; a missing or malformed Origin is not allowed."""
    origin = _header(scope, b"origin")
    normalized = origin_normalize(origin) if origin else None
    if normalized is None:
        return False
    if normalized == request_origin(scope):
        return True
    return any(_trusted(normalized, item) for item in settings.CSRF_TRUSTED_ORIGINS)


def _trusted(origin: str, trusted: str) -> bool:
    """As Django's CSRF check reads CSRF_TRUSTED_ORIGINS: exact, or
    "scheme://*.domain" for its subdomains (same scheme and port)."""
    scheme, _, rest = trusted.partition("://")
    if rest.startswith("*."):
        pattern = origin_normalize(f"{scheme}://{rest[2:]}")
        if pattern is None:
            return False
        pattern_scheme, _, pattern_host = pattern.partition("://")
        return origin.startswith(pattern_scheme + "://") and origin.endswith("." + pattern_host)
    return origin == origin_normalize(trusted)


class ExactOriginValidator:
    """Refuses, before any route runs, a WebSocket whose Origin is foreign:
    the handshake is answered 403 (daphne's answer to a close before accept).

    Under `opaque_prefix` (the script interfaces) the Origin "null" of a
    sandboxed frame is let on without its cookies: there only the proof in
    the URL can let it in, never a session it happens to carry."""

    def __init__(self, application: ASGIApp, *, opaque_prefix: str | None = None) -> None:
        self.application = application
        self.opaque_prefix = opaque_prefix

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            if (
                self.opaque_prefix is not None
                and _header(scope, b"origin") == "null"
                and scope["path"].startswith(self.opaque_prefix)
            ):
                headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"cookie"]
                scope = {**scope, "headers": headers}
            else:
                await WebsocketDenier()(scope, receive, send)
                return
        await self.application(scope, receive, send)
