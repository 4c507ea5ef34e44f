"""Authenticated reverse proxy for script interfaces (HTTP and WebSocket).

`/interfaces/<token>/app/<rest>` is served by the script's own server at
`127.0.0.1:<port>/<rest>`, for the interface's owner or an admin only. The token
is the per-launch secret in the URL; `lookup(segment)` (injected, so this module
knows nothing about the execution models) says which port and owner it belongs
to, and returns None once the interface has ended.

The sandboxed frame's own requests carry no cookies, so the token alone would
be a bearer secret. Instead a signed-in owner's (or admin's) navigation to the
interface is sent on to `/interfaces/<token>.<proof>/app/`, where the proof is
issued to that session (`proof_issue`, injected too) and the lookup says whom
it speaks for (`InterfaceTarget.proven_for`): without a session, only a proof
of a live session of someone allowed lets a request in.

Isolation (DESIGN §5): a script's page must never act as the user on the
manager. The manager's cookies and `Authorization` never reach the script; the
script's cookies are confined to its own prefix; every proxied document is
sandboxed without same-origin (CSP `sandbox`), so even when opened outside the
manager's frame it cannot read the manager's cookies or call its API with them.
"""

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit
from weakref import WeakKeyDictionary

import httpx
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from channels.auth import AuthMiddlewareStack
from django.conf import settings
from django.db import connections
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.translation import gettext
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from accounts.levels import Level, user_has_level

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

UPSTREAM_HOST = "127.0.0.1"
# Seconds to open a connection to a script's server; reading has no limit, so
# long polls, server-sent events and slow downloads stream for as long as they last.
CONNECT_TIMEOUT = 5.0
# Largest WebSocket message relayed from a script, in bytes.
WEBSOCKET_MAX_MESSAGE = 64 * 1024 * 1024

# Sandbox flags for every proxied document, and for the manager's <iframe sandbox>
# around it. Never allow-same-origin (the page would share the manager's origin
# and session) nor allow-popups-to-escape-sandbox / allow-top-navigation.
SANDBOX_FLAGS = "allow-scripts allow-forms allow-popups allow-modals allow-downloads"

# WebSocket close codes of our own, before or instead of the upstream's.
CLOSE_LOGIN_REQUIRED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429
# The reason sent with CLOSE_TOO_MANY (not translated: clients match on it).
TOO_MANY_REASON = "too many connections"
CLOSE_UPSTREAM_FAILED = 4502

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# The X-Forwarded-* we set are the client's word replaced by ours; `expect`
# would ask the script for a 100-continue the client never sees.
_REQUEST_DROP = HOP_BY_HOP | {
    b"host",
    b"authorization",
    b"expect",
    b"x-forwarded-prefix",
    b"x-forwarded-proto",
    b"x-forwarded-host",
}
# The WebSocket client writes its own handshake headers.
_WEBSOCKET_DROP = _REQUEST_DROP | {
    b"sec-websocket-key",
    b"sec-websocket-version",
    b"sec-websocket-extensions",
    b"sec-websocket-protocol",
    b"sec-websocket-accept",
}
# Referrer-Policy is replaced: the token in the URL must not leak to other sites.
# The others act on the manager's whole origin, which a script does not own:
# Clear-Site-Data would sign the user out, HSTS or Alt-Svc would change how
# the browser reaches every page, and so on.
_RESPONSE_DROP = HOP_BY_HOP | {
    b"x-frame-options",
    b"referrer-policy",
    b"clear-site-data",
    b"strict-transport-security",
    b"alt-svc",
    b"nel",
    b"report-to",
    b"reporting-endpoints",
    b"accept-ch",
    b"critical-ch",
    b"origin-agent-cluster",
    b"service-worker-allowed",
}
# What the manager's own policy says of framing, whatever the script's says.
FRAME_ANCESTORS = "frame-ancestors 'self'"

_PATH_SAFE = "/:@!$&'()*+,;=~"
_QUERY_SAFE = _PATH_SAFE + "?%"
# Codes a WebSocket endpoint may put in a close frame (RFC 6455 §7.4, IANA).
_SENDABLE_CLOSE_CODES = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
)


@dataclass
class InterfaceTarget:
    port: int
    owner_id: int
    token: str
    # The user whose live session the URL's proof was issued to, if any.
    proven_for: int | None = None


Lookup = Callable[[str], Awaitable[InterfaceTarget | None]]
# proof_issue(token, user, session_key) -> the proof for that session, or None.
ProofIssue = Callable[[str, Any, str], Awaitable[str | None]]
# websocket_slot(user_id) -> an async context manager giving True when the
# user may open one more WebSocket (the slot is held until it exits).
WebSocketSlot = Callable[[int], contextlib.AbstractAsyncContextManager[bool]]


def interface_prefix(token: str) -> str:
    """The URL prefix a script's UI is served under: "/interfaces/<token>/app/"."""
    return f"/interfaces/{token}/app/"


def manager_cookie_names() -> frozenset[str]:
    """Cookies the manager sets on its origin, which a script never sees nor sets."""
    return frozenset(
        {
            settings.SESSION_COOKIE_NAME,
            settings.CSRF_COOKIE_NAME,
            settings.LANGUAGE_COOKIE_NAME,
            getattr(settings, "THEME_COOKIE_NAME", "sm_theme"),
        }
    )


class _ClientGone(Exception):
    """The browser disconnected while its request body was still arriving."""


class _RequestBody:
    """The ASGI request body as an async byte stream for httpx, never held whole."""

    def __init__(self, first: dict[str, Any], receive: Receive) -> None:
        self.first = first
        self.receive = receive
        self.complete = not first.get("more_body", False)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.first.get("body"):
            yield self.first["body"]
        while not self.complete:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            self.complete = not message.get("more_body", False)
            if message.get("body"):
                yield message["body"]


class InterfaceProxy:
    """ASGI application for `<prefix_root><token>/app[/...]`, HTTP and WebSocket.

    Expects `scope["user"]` from Channels' AuthMiddlewareStack (a missing user
    counts as anonymous). Anonymous without a proof that holds: HTTP 302 to the
    login page (a page's own requests: 404), WebSocket closed 4401. Unknown or
    ended token, or a user who is neither the owner nor an admin: HTTP 404,
    WebSocket closed 4404 -- the same answer whether or not the interface
    exists. Script not answering: HTTP 502, WebSocket closed 4502. One
    WebSocket over the user's allowance: accepted, then closed 4429.
    """

    def __init__(
        self,
        lookup: Lookup,
        *,
        prefix_root: str = "/interfaces/",
        proof_issue: ProofIssue | None = None,
        websocket_slot: WebSocketSlot | None = None,
    ) -> None:
        self.lookup = lookup
        self.prefix_root = prefix_root
        self.proof_issue = proof_issue
        self.websocket_slot = websocket_slot
        self._pattern = re.compile(
            re.escape(prefix_root)
            + r"(?P<segment>(?P<token>[A-Za-z0-9_-]+)(?:\.[A-Za-z0-9_-]+)?)/app(?P<rest>/.*)?",
            re.DOTALL,
        )
        # One connection pool per event loop: daphne runs one, but async_to_sync
        # makes a new loop per call and a pooled connection must not cross loops.
        self._clients: WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            WeakKeyDictionary()
        )

    def handles(self, path: str) -> bool:
        return self._pattern.fullmatch(path) is not None

    def prefix(self, segment: str) -> str:
        """Where this interface lives: "<prefix_root><token>[.<proof>]/app/"."""
        return f"{self.prefix_root}{segment}/app/"

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            raise ValueError(f"InterfaceProxy cannot serve {kind!r} scopes")
        if kind == "websocket" and (await receive())["type"] != "websocket.connect":
            return
        match = self._pattern.fullmatch(scope["path"])
        user = scope.get("user")
        anonymous = user is None or not user.is_authenticated
        target = await self.lookup(match["segment"]) if match is not None else None
        proven = target is not None and target.proven_for is not None
        if match is not None and anonymous and not proven and not _sandboxed_subrequest(scope):
            await self._refuse(scope, send, login=True)
            return
        # A sandboxed frame's own requests carry no cookies (opaque origin): for
        # them the proof in the URL is the credential. A person's navigation
        # brings the session, checked against the owner whatever the URL says.
        if anonymous:
            allowed = proven
        else:
            allowed = target is not None and (
                user.pk == target.owner_id or user_has_level(user, Level.ADMIN)
            )
        if not allowed:
            await self._refuse(scope, send, login=False)
            return
        segment = match["segment"]
        if kind == "http" and not proven and _navigation(scope):
            proof = await self._proof_for(scope, target)
            if proof is not None:
                await self._redirect(
                    scope, send, segment, self.prefix(f"{target.token}.{proof}"), match["rest"]
                )
                return
        if kind == "websocket":
            await self._websocket_within_allowance(
                scope, receive, send, target, segment, user.pk if not anonymous else None
            )
        elif match["rest"] is None:
            await self._redirect(scope, send, segment, self.prefix(segment), None)
        else:
            await self._http(scope, receive, send, target, segment)

    async def _proof_for(self, scope: Scope, target: InterfaceTarget) -> str | None:
        session = scope.get("session")
        session_key = getattr(session, "session_key", None)
        if self.proof_issue is None or not session_key:
            return None
        return await self.proof_issue(target.token, scope["user"], session_key)

    async def _redirect(
        self, scope: Scope, send: Send, segment: str, prefix: str, rest: str | None
    ) -> None:
        """302 to the same `rest` (as the browser spelled it) under `prefix`."""
        location = prefix
        if rest:
            mount = self.prefix(segment).rstrip("/")
            raw = (scope.get("raw_path") or b"").decode("latin-1")
            tail = raw[len(mount) :] if raw.startswith(mount) else quote(rest, safe=_PATH_SAFE)
            location = prefix.rstrip("/") + tail
        if scope.get("query_string"):
            location += "?" + scope["query_string"].decode("latin-1")
        await _respond(send, 302, "", [(b"location", location.encode("latin-1"))])

    async def _refuse(self, scope: Scope, send: Send, *, login: bool) -> None:
        if scope["type"] == "websocket":
            code = CLOSE_LOGIN_REQUIRED if login else CLOSE_NOT_FOUND
            await send({"type": "websocket.close", "code": code})
        elif login:
            raw = scope.get("raw_path")
            path = raw.decode("latin-1") if raw else quote(scope["path"])
            if scope.get("query_string"):
                path += "?" + scope["query_string"].decode("latin-1")
            location = resolve_url(settings.LOGIN_URL) + "?" + urlencode({"next": path})
            await _respond(send, 302, "", [(b"location", location.encode("latin-1"))])
        else:
            with _language_of(scope.get("user")):
                await _respond(send, 404, gettext("Not found."))

    # --- HTTP ------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = httpx.AsyncClient(
                trust_env=False,
                follow_redirects=False,
                timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT),
                # No cap: a long-lived stream must never make others wait for a slot.
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
                # The pool is shared by every user: it must never keep a script's cookies.
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            )
            self._clients[loop] = client
        return client

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, target: InterfaceTarget, segment: str
    ) -> None:
        request_headers = {k.lower(): v for k, v in scope.get("headers", [])}
        # The sandboxed page has the opaque origin "null", so its fetch() calls
        # to its own server are cross-origin. The path's secret token is what
        # authorises them (no cookies are involved), so answer CORS for "null".
        null_origin = request_headers.get(b"origin") == b"null"
        if (
            null_origin
            and scope["method"] == "OPTIONS"
            and b"access-control-request-method" in request_headers
        ):
            allow = [
                (b"access-control-allow-origin", b"null"),
                (
                    b"access-control-allow-methods",
                    request_headers[b"access-control-request-method"],
                ),
                (b"access-control-max-age", b"600"),
                (b"vary", b"origin"),
            ]
            if b"access-control-request-headers" in request_headers:
                allow.append(
                    (
                        b"access-control-allow-headers",
                        request_headers[b"access-control-request-headers"],
                    )
                )
            await _respond(send, 204, "", allow)
            return
        first = await receive()
        if first["type"] == "http.disconnect":
            return
        body = _RequestBody(first, receive)
        prefix = self.prefix(segment)
        headers = _forward_headers(scope, prefix, drop=_REQUEST_DROP)
        headers.append((b"host", f"{UPSTREAM_HOST}:{target.port}".encode()))
        url = f"http://{UPSTREAM_HOST}:{target.port}{self._upstream_path(scope, prefix)}"
        # Built directly, not with client.build_request: that would add the
        # client's default headers (an Accept-Encoding the browser never sent).
        request = httpx.Request(
            scope["method"],
            url,
            headers=headers,
            content=first.get("body", b"") if body.complete else body,
        )
        try:
            response = await self._client().send(request, stream=True)
        except _ClientGone:
            return
        except httpx.TransportError as error:
            logger.warning("Interface on port %s is not answering: %r", target.port, error)
            with _language_of(scope.get("user")):
                await _respond(send, 502, gettext("The script's interface is not answering."))
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": _response_headers(response.headers.raw, target.port, prefix)
                    + (
                        [(b"access-control-allow-origin", b"null"), (b"vary", b"origin")]
                        if null_origin
                        else []
                    ),
                }
            )
            await _relay_body(response, receive if body.complete else None, send, target.port)
        finally:
            await response.aclose()

    def _upstream_path(self, scope: Scope, prefix: str) -> str:
        """The script-side path and query, percent-encoded as the browser sent them."""
        mount = prefix.rstrip("/")
        raw = scope.get("raw_path")
        if raw and raw.startswith(mount.encode()) and raw[len(mount) : len(mount) + 1] == b"/":
            path = quote(raw[len(mount) :], safe=_PATH_SAFE + "%")
        else:
            path = quote(scope["path"][len(mount) :], safe=_PATH_SAFE) or "/"
        query = scope.get("query_string", b"")
        return path + ("?" + quote(query, safe=_QUERY_SAFE) if query else "")

    # --- WebSocket -------------------------------------------------------------

    async def _websocket_within_allowance(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        target: InterfaceTarget,
        segment: str,
        user_id: int | None,
    ) -> None:
        """The WebSocket, counted against its user's allowance: the signed-in
        user, or the one the proof speaks for."""
        user_id = user_id if user_id is not None else target.proven_for
        if self.websocket_slot is None or user_id is None:
            await self._websocket(scope, receive, send, target, segment)
            return
        async with self.websocket_slot(user_id) as allowed:
            if not allowed:
                await send({"type": "websocket.accept"})
                await send(
                    {"type": "websocket.close", "code": CLOSE_TOO_MANY, "reason": TOO_MANY_REASON}
                )
                return
            await self._websocket(scope, receive, send, target, segment)

    async def _websocket(
        self, scope: Scope, receive: Receive, send: Send, target: InterfaceTarget, segment: str
    ) -> None:
        prefix = self.prefix(segment)
        url = f"ws://{UPSTREAM_HOST}:{target.port}{self._upstream_path(scope, prefix)}"
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in _forward_headers(scope, prefix, drop=_WEBSOCKET_DROP)
        ]
        try:
            upstream = await websocket_connect(
                url,
                additional_headers=headers,
                subprotocols=scope.get("subprotocols") or None,
                user_agent_header=None,
                proxy=None,
                compression=None,
                open_timeout=CONNECT_TIMEOUT,
                close_timeout=5,
                max_size=WEBSOCKET_MAX_MESSAGE,
            )
        except (OSError, InvalidHandshake) as error:
            logger.warning("Interface WebSocket on port %s refused: %r", target.port, error)
            await send({"type": "websocket.close", "code": CLOSE_UPSTREAM_FAILED})
            return
        try:
            await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
            await _relay_websocket(upstream, receive, send)
        finally:
            await upstream.close()


class ProxyRouter:
    """Sends /interfaces/<token>/app[/...] (HTTP and WebSocket) to the proxy, behind
    Channels' session authentication, and every other scope to `django_app`."""

    def __init__(self, django_app: ASGIApp, proxy: InterfaceProxy) -> None:
        self.django_app = django_app
        self.proxy = proxy
        self._authenticated_proxy = AuthMiddlewareStack(proxy)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.proxy.handles(scope["path"]):
            # Its own thread for the session, user and token look-ups, as Django
            # gives each request: outside a context they would all queue on the
            # process's one shared thread, behind every WebSocket's look-ups.
            async with ThreadSensitiveContext():
                try:
                    await self._authenticated_proxy(scope, receive, send)
                finally:
                    # The context's thread ends here: a connection it still
                    # holds would never go back to the pool.
                    await sync_to_async(connections.close_all)()
        else:
            await self.django_app(scope, receive, send)

    async def aclose(self) -> None:
        await self.proxy.aclose()


def proxy_router(
    django_app: ASGIApp,
    lookup: Lookup,
    *,
    prefix_root: str = "/interfaces/",
    proof_issue: ProofIssue | None = None,
    websocket_slot: WebSocketSlot | None = None,
) -> ProxyRouter:
    """An ASGI app: script interfaces through the proxy, the rest to `django_app`."""
    proxy = InterfaceProxy(
        lookup, prefix_root=prefix_root, proof_issue=proof_issue, websocket_slot=websocket_slot
    )
    return ProxyRouter(django_app, proxy)


# --- Helpers ----------------------------------------------------------------------


def _sandboxed_subrequest(scope: Scope) -> bool:
    """True for a request made by a page in a sandboxed frame (or a page served
    with the CSP sandbox): the browser marks it cross-site, with Origin null, or
    as navigation inside a frame. Top-level navigations and non-browser clients
    without Fetch metadata are not: they must bring a session."""
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    site = headers.get(b"sec-fetch-site", b"")
    dest = headers.get(b"sec-fetch-dest", b"")
    if not site:
        return False
    if dest == b"document":
        return False
    return site == b"cross-site" or headers.get(b"origin") == b"null" or dest == b"iframe"


def _navigation(scope: Scope) -> bool:
    """True for a browser's GET of a document (a tab's or a frame's)."""
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    return scope.get("method") in ("GET", "HEAD") and headers.get(b"sec-fetch-dest") in (
        b"document",
        b"iframe",
    )


def _language_of(user: Any) -> contextlib.AbstractContextManager:
    return translation.override(getattr(user, "preferred_language", None) or settings.LANGUAGE_CODE)


async def _respond(send: Send, status: int, text: str, headers: Headers = ()) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    """Header names listed in Connection: hop-by-hop for this message only."""
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }


def _strip_manager_cookies(value: bytes, names: frozenset[str]) -> bytes:
    kept = [
        part.strip()
        for part in value.split(b";")
        if part.strip() and part.split(b"=", 1)[0].strip().decode("latin-1") not in names
    ]
    return b"; ".join(kept)


def _forward_headers(scope: Scope, prefix: str, *, drop: frozenset[bytes]) -> Headers:
    """The client's headers as the script should get them (Host not included)."""
    incoming = scope.get("headers", [])
    also_drop = _connection_tokens(incoming)
    cookie_names = manager_cookie_names()
    forwarded_for: list[bytes] = []
    host = None
    headers: Headers = []
    for name, value in incoming:
        name = name.lower()
        if name == b"host":
            host = value
        if name in drop or name in also_drop:
            continue
        if name == b"x-forwarded-for":
            forwarded_for.append(value)
            continue
        if name == b"cookie":
            value = _strip_manager_cookies(value, cookie_names)
            if not value:
                continue
        headers.append((name, value))
    if scope.get("client"):
        forwarded_for.append(scope["client"][0].encode("latin-1"))
    if forwarded_for:
        headers.append((b"x-forwarded-for", b", ".join(forwarded_for)))
    if host is None and scope.get("server"):
        server_host, server_port = scope["server"]
        host = f"{server_host}:{server_port}".encode("latin-1")
    if host is not None:
        headers.append((b"x-forwarded-host", host))
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", ""), scope.get("scheme"))
    headers.append((b"x-forwarded-proto", (scheme or "http").encode()))
    headers.append((b"x-forwarded-prefix", prefix.rstrip("/").encode("latin-1")))
    return headers


def _rewrite_location(value: str, port: int, prefix: str) -> str:
    """Point a redirect at the script's own root back under its prefix; leave
    relative, foreign and already-prefixed locations alone."""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        own = {f"{UPSTREAM_HOST}:{port}", f"localhost:{port}"}
        if parts.scheme not in ("", "http") or parts.netloc.lower() not in own:
            return value
    elif not value.startswith("/"):
        return value
    path = parts.path or "/"
    if not (path == prefix.rstrip("/") or path.startswith(prefix)):
        path = prefix.rstrip("/") + path
    return urlunsplit(("", "", path, parts.query, parts.fragment))


def _confine_cookie(value: str, prefix: str, names: frozenset[str]) -> str | None:
    """A script's Set-Cookie with its Path moved under the prefix and no Domain;
    None for a cookie that would carry one of the manager's names."""
    pair, *attributes = value.split(";")
    if pair.split("=", 1)[0].strip() in names:
        return None
    path = ""
    kept = []
    for attribute in attributes:
        key, _, attribute_value = attribute.partition("=")
        key = key.strip().lower()
        if key == "path":
            path = attribute_value.strip()
        elif key != "domain" and attribute.strip():
            kept.append(attribute.strip())
    if not path.startswith("/") or path == "/":
        path = prefix
    elif not (path == prefix.rstrip("/") or path.startswith(prefix)):
        path = prefix.rstrip("/") + path
    return "; ".join([pair.strip(), f"Path={path}", *kept])


def _response_headers(upstream: Headers, port: int, prefix: str) -> Headers:
    also_drop = _connection_tokens(upstream)
    cookie_names = manager_cookie_names()
    headers: Headers = []
    for name, value in upstream:
        name = name.lower()
        if name in _RESPONSE_DROP or name in also_drop:
            continue
        if name in (b"location", b"content-location"):
            value = _rewrite_location(value.decode("latin-1"), port, prefix).encode("latin-1")
        elif name == b"set-cookie":
            cookie = _confine_cookie(value.decode("latin-1"), prefix, cookie_names)
            if cookie is None:
                continue
            value = cookie.encode("latin-1")
        elif name == b"content-security-policy":
            # A second policy only narrows the script's own (both are
            # enforced), but its own frame-ancestors would replace ours.
            value = _without_frame_ancestors(value)
            if not value:
                continue
        headers.append((name, value))
    policy = f"{FRAME_ANCESTORS}; sandbox {SANDBOX_FLAGS}"
    headers.append((b"content-security-policy", policy.encode()))
    headers.append((b"referrer-policy", b"same-origin"))
    return headers


def _without_frame_ancestors(policy: bytes) -> bytes:
    """A script's Content-Security-Policy without its frame-ancestors directive
    (the manager's own policy says who may frame the page)."""
    kept = [
        directive.strip()
        for directive in policy.split(b";")
        if directive.strip() and directive.split()[0].lower() != b"frame-ancestors"
    ]
    return b"; ".join(kept)


async def _relay_body(
    response: httpx.Response, receive: Receive | None, send: Send, port: int
) -> None:
    """Stream the script's body chunk by chunk; stop reading it when the browser
    leaves (`receive` is None while the request body is still unread)."""

    async def pump() -> None:
        try:
            async for chunk in response.aiter_raw():
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.TransportError as error:
            # ASGI cannot abort a started response: end it, say why in the log.
            logger.warning("Interface on port %s broke off its response: %r", port, error)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def client_left() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    if receive is None:
        await pump()
        return
    tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(client_left())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _close_code_for_client(code: int | None) -> int:
    """The upstream's close code as daphne may send it (1000 or 3000-4999 only)."""
    if code == 1000 or (code is not None and 3000 <= code <= 4999):
        return code
    if code in (None, 1006, 1011, 1014):
        return CLOSE_UPSTREAM_FAILED
    return 1000


def _close_code_for_upstream(code: int | None) -> int:
    if code in _SENDABLE_CLOSE_CODES or (code is not None and 3000 <= code <= 4999):
        return code
    return 1000


async def _relay_websocket(upstream: ClientConnection, receive: Receive, send: Send) -> None:
    """Pump messages both ways until one side closes, then close the other with its code."""

    async def client_to_upstream() -> int | None:
        """The client's close code when it leaves; None when the upstream went first."""
        while True:
            message = await receive()
            try:
                if message["type"] == "websocket.receive":
                    if message.get("bytes") is not None:
                        await upstream.send(message["bytes"])
                    elif message.get("text") is not None:
                        await upstream.send(message["text"])
                elif message["type"] == "websocket.disconnect":
                    return _close_code_for_upstream(message.get("code"))
            except ConnectionClosed:
                return None

    async def upstream_to_client() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for data in upstream:
                if isinstance(data, str):
                    await send({"type": "websocket.send", "text": data})
                else:
                    await send({"type": "websocket.send", "bytes": data})

    inbound = asyncio.ensure_future(client_to_upstream())
    outbound = asyncio.ensure_future(upstream_to_client())
    try:
        done, _ = await asyncio.wait([inbound, outbound], return_when=asyncio.FIRST_COMPLETED)
        client_code = inbound.result() if inbound in done else None
        if client_code is not None:
            await upstream.close(client_code)
        else:
            # Deliver what the script sent before closing, then its close code.
            await outbound
            await send(
                {
                    "type": "websocket.close",
                    "code": _close_code_for_client(upstream.close_code),
                    "reason": upstream.close_reason or "",
                }
            )
    finally:
        for task in (inbound, outbound):
            task.cancel()
        await asyncio.gather(inbound, outbound, return_exceptions=True)
