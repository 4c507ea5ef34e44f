"""The interface proxy, end to end: the real ASGI app (Channels' session
authentication, the proxy router) in front of a real script server on a free
loopback port. Only the token lookup is a stand-in: a dict, as injected.
"""

import asyncio
import functools
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from asgiref.sync import async_to_sync
from channels.testing import ApplicationCommunicator, WebsocketCommunicator
from django.conf import settings
from django.core.asgi import get_asgi_application

from execution.proxy import (
    CLOSE_LOGIN_REQUIRED,
    CLOSE_NOT_FOUND,
    CLOSE_UPSTREAM_FAILED,
    SANDBOX_FLAGS,
    InterfaceTarget,
    interface_prefix,
    proxy_router,
)
from execution.tests import upstream_app
from scriptsmanager.testing import free_port

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "127.0.0.1:8000"
CLIENT_ADDRESS = "10.1.2.3"
TIMEOUT = 10
MiB = 1024 * 1024

LIVE = secrets.token_urlsafe(24)  # the Flask app
SOCKET = secrets.token_urlsafe(24)  # the WebSocket server
DOWN = secrets.token_urlsafe(24)  # a port nobody listens on
UNKNOWN = secrets.token_urlsafe(24)  # no such interface
PROOF = secrets.token_urlsafe(32)  # what the stand-in lookup takes for the owner's proof


@pytest.fixture(scope="module")
def upstream_port():
    with upstream_app.serving_http() as port:
        yield port


@pytest.fixture(scope="module")
def websocket_port():
    with upstream_app.serving_websocket() as port:
        yield port


@pytest.fixture
def lookup(personas, upstream_port, websocket_port):
    """The injected lookup: op_otto's three interfaces, by "<token>" or by
    "<token>.<PROOF>" (a proof of op_otto's session)."""
    owner = personas["op_otto"].pk
    ports = {LIVE: upstream_port, SOCKET: websocket_port, DOWN: free_port()}

    async def lookup(segment: str) -> InterfaceTarget | None:
        token, _, proof = segment.partition(".")
        if token not in ports or proof not in ("", PROOF):
            return None
        proven_for = owner if proof else None
        return InterfaceTarget(
            port=ports[token], owner_id=owner, token=token, proven_for=proven_for
        )

    return lookup


@pytest.fixture
def app(lookup):
    """The manager's ASGI app as asgi.py composes it: the proxy in front of Django."""
    return proxy_router(get_asgi_application(), lookup)


@pytest.fixture
def cookie_of(personas, client_for):
    """cookie_of("op_otto", script_pref="1") -> a Cookie header with that persona's
    real session, the manager's other cookies, and the script's own cookies."""
    # Logged in here, before any event loop runs: logging in is synchronous.
    sessions = {
        name: client_for(name).cookies[settings.SESSION_COOKIE_NAME].value for name in personas
    }

    def make(name: str | None, **script_cookies: str) -> str:
        cookies = {
            settings.CSRF_COOKIE_NAME: "csrf-" + secrets.token_hex(16),
            settings.LANGUAGE_COOKIE_NAME: "fr",
            settings.THEME_COOKIE_NAME: "dark",
            **script_cookies,
        }
        if name is not None:
            cookies[settings.SESSION_COOKIE_NAME] = sessions[name]
        return "; ".join(f"{key}={value}" for key, value in cookies.items())

    return make


def async_test(test):
    """Run an async test in one event loop; the proxy's connection pool closes with it."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        async def main():
            try:
                await test(*args, **kwargs)
            finally:
                if "app" in kwargs:
                    await kwargs["app"].aclose()

        async_to_sync(main)()

    return run


@dataclass
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    chunks: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def json(self):
        return json.loads(self.body)

    def all(self, name: str) -> list[str]:
        return [v.decode("latin-1") for k, v in self.headers if k.decode().lower() == name]

    def header(self, name: str) -> str | None:
        values = self.all(name)
        assert len(values) <= 1, values
        return values[0] if values else None


def http_scope(method: str, target: str, cookie: str | None = None, headers=()) -> dict:
    path, _, query = target.partition("?")
    all_headers = [("host", HOST), *headers, *([("cookie", cookie)] if cookie else [])]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers],
        "client": (CLIENT_ADDRESS, 50123),
        "server": ("127.0.0.1", 8000),
    }


async def read_reply(communicator: ApplicationCommunicator) -> Reply:
    start = await communicator.receive_output(TIMEOUT)
    assert start["type"] == "http.response.start"
    chunks = []
    while True:
        message = await communicator.receive_output(TIMEOUT)
        assert message["type"] == "http.response.body"
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await communicator.wait(TIMEOUT)
    return Reply(start["status"], start["headers"], [chunk for chunk in chunks if chunk])


async def fetch(app, method: str, target: str, *, cookie=None, headers=(), body=b"") -> Reply:
    if body:
        headers = [*headers, ("content-length", str(len(body)))]
    communicator = ApplicationCommunicator(app, http_scope(method, target, cookie, headers))
    await communicator.send_input({"type": "http.request", "body": body})
    return await read_reply(communicator)


async def gate_opened(name: str) -> bool:
    return await asyncio.to_thread(upstream_app.gate(name).wait, TIMEOUT)


def app_url(token: str, rest: str = "") -> str:
    return interface_prefix(token) + rest


# --- HTTP --------------------------------------------------------------------------


@async_test
async def test_it_round_trips_methods_bodies_and_queries(app, cookie_of):
    cookie = cookie_of("op_otto")
    target = app_url(LIVE, "echo/a%20b/c?x=1&y=two%20words&z=%C3%A9")
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        body = b"" if method == "GET" else f"payload of {method} \u2713".encode()
        reply = await fetch(app, method, target, cookie=cookie, body=body)
        assert reply.status == 200
        seen = reply.json()
        assert seen["method"] == method
        assert seen["path"] == "/echo/a b/c"
        assert seen["raw_uri"] == "/echo/a%20b/c?x=1&y=two%20words&z=%C3%A9"
        assert seen["body"] == body.decode()


@async_test
async def test_it_forwards_headers_but_not_authorization_or_the_managers_cookies(
    app, cookie_of, upstream_port
):
    headers = [
        ("authorization", "Basic b3R0bzpzZWNyZXQ="),
        ("x-custom", "kept"),
        ("user-agent", "Tester/1.0"),
        ("connection", "keep-alive, x-hop"),
        ("x-hop", "named by Connection"),
        ("keep-alive", "timeout=5"),
        ("x-forwarded-for", "192.0.2.7"),
        ("x-forwarded-prefix", "/somewhere/else"),
    ]
    cookie = cookie_of("op_otto", script_pref="42")
    reply = await fetch(app, "GET", app_url(LIVE, "echo"), cookie=cookie, headers=headers)

    seen = reply.json()["headers"]
    assert reply.json()["cookies"] == {"script_pref": "42"}
    assert "authorization" not in seen
    assert seen["x-custom"] == "kept"
    assert seen["user-agent"] == "Tester/1.0"
    assert "x-hop" not in seen and "keep-alive" not in seen
    assert "accept-encoding" not in seen  # nothing the browser did not send
    assert seen["host"] == f"127.0.0.1:{upstream_port}"
    assert seen["x-forwarded-prefix"] == f"/interfaces/{LIVE}/app"
    assert seen["x-forwarded-for"] == f"192.0.2.7, {CLIENT_ADDRESS}"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == HOST


@async_test
async def test_a_script_page_cannot_call_the_manager_with_the_users_session(app, cookie_of):
    """Whatever a script's page makes the browser send through the proxy, the
    script's server never gets the manager's session or CSRF cookie to relay."""
    cookie = cookie_of("op_otto", script_pref="1")
    secrets_sent = {
        name: value
        for name, _, value in (pair.partition("=") for pair in cookie.split("; "))
        if name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
    }
    reply = await fetch(app, "POST", app_url(LIVE, "echo"), cookie=cookie, body=b"{}")

    assert reply.status == 200  # so the session did authenticate op_otto at the proxy
    assert reply.json()["cookies"] == {"script_pref": "1"}
    for value in secrets_sent.values():
        assert value not in reply.body.decode()
    # In the browser the page gets an opaque origin, framed or opened on its own,
    # so it can neither read the manager's cookies nor send them with its requests.
    policies = reply.all("content-security-policy")
    assert f"sandbox {SANDBOX_FLAGS}" in policies[-1]
    assert not any("allow-same-origin" in policy for policy in policies)
    # Nor can it plant a manager cookie on its own paths.
    reply = await fetch(app, "GET", app_url(LIVE, "cookies/set"), cookie=cookie)
    assert not [c for c in reply.all("set-cookie") if c.startswith("sessionid=")]


@async_test
async def test_the_shared_connection_pool_keeps_no_script_cookies(app, cookie_of):
    await fetch(app, "GET", app_url(LIVE, "cookies/set"), cookie=cookie_of("op_otto"))
    reply = await fetch(app, "GET", app_url(LIVE, "echo"), cookie=cookie_of("ada_admin"))
    assert reply.json()["cookies"] == {}


@async_test
async def test_redirects_to_the_scripts_own_root_stay_under_the_prefix(app, cookie_of):
    cookie = cookie_of("op_otto")
    expected = {
        "absolute": app_url(LIVE, "landing?from=absolute"),
        "root": app_url(LIVE, "landing?from=root"),
        "top": app_url(LIVE),
        "relative": "landing",
        "prefixed": app_url(LIVE, "landing"),
        "foreign": "https://example.com/elsewhere",
    }
    for kind, location in expected.items():
        reply = await fetch(app, "GET", app_url(LIVE, f"redirect/{kind}"), cookie=cookie)
        assert (kind, reply.status, reply.header("location")) == (kind, 302, location)


@async_test
async def test_script_cookies_are_confined_to_the_interface(app, cookie_of):
    reply = await fetch(app, "GET", app_url(LIVE, "cookies/set"), cookie=cookie_of("op_otto"))
    prefix = app_url(LIVE)
    assert reply.all("set-cookie") == [
        f"at_root=1; Path={prefix}; HttpOnly",
        f"no_path=2; Path={prefix}; SameSite=Lax",
        f"scoped=3; Path={prefix}sub; Secure",
        f"dated=4; Path={prefix}; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
    ]


@async_test
async def test_responses_may_be_framed_by_the_manager_only(app, cookie_of):
    cookie = cookie_of("op_otto")
    reply = await fetch(app, "GET", app_url(LIVE, "echo"), cookie=cookie)
    assert reply.all("content-security-policy") == [
        f"frame-ancestors 'self'; sandbox {SANDBOX_FLAGS}"
    ]
    assert reply.header("referrer-policy") == "same-origin"

    reply = await fetch(app, "GET", app_url(LIVE, "headers/framing"), cookie=cookie)
    assert reply.all("content-security-policy") == [
        "default-src 'self'",
        f"frame-ancestors 'self'; sandbox {SANDBOX_FLAGS}",
    ]
    assert reply.header("x-frame-options") is None
    assert reply.header("referrer-policy") == "same-origin"  # never the token to other sites


ORIGIN_WIDE = (
    "clear-site-data",
    "strict-transport-security",
    "alt-svc",
    "nel",
    "report-to",
    "reporting-endpoints",
    "accept-ch",
    "origin-agent-cluster",
    "service-worker-allowed",
)


@async_test
async def test_a_script_cannot_send_headers_that_act_on_the_managers_whole_origin(app, cookie_of):
    reply = await fetch(
        app, "GET", app_url(LIVE, "headers/origin-wide"), cookie=cookie_of("op_otto")
    )
    assert reply.status == 200 and reply.body == b"origin-wide"
    assert {name: reply.all(name) for name in ORIGIN_WIDE} == {name: [] for name in ORIGIN_WIDE}
    assert reply.header("x-script-own") == "kept"


@async_test
async def test_a_scripts_own_policy_cannot_lift_the_managers_frame_ancestors(app, cookie_of):
    reply = await fetch(
        app, "GET", app_url(LIVE, "headers/any-framer"), cookie=cookie_of("op_otto")
    )
    # The script's other directives stay; who may frame it is the manager's word only.
    assert reply.all("content-security-policy") == [
        "default-src 'self'; img-src *",
        f"frame-ancestors 'self'; sandbox {SANDBOX_FLAGS}",
    ]


@async_test
async def test_the_response_streams_chunk_by_chunk(app, cookie_of):
    name = secrets.token_hex(8)
    communicator = ApplicationCommunicator(
        app, http_scope("GET", app_url(LIVE, f"stream?gate={name}"), cookie_of("op_otto"))
    )
    await communicator.send_input({"type": "http.request", "body": b""})
    assert (await communicator.receive_output(TIMEOUT))["status"] == 200

    # The script holds back the rest until this first chunk has come through.
    first = await communicator.receive_output(TIMEOUT)
    assert (first["body"], first["more_body"]) == (b"first\n", True)
    upstream_app.gate(name).set()
    rest = []
    while True:
        message = await communicator.receive_output(TIMEOUT)
        rest.append(message["body"])
        if not message.get("more_body"):
            break
    assert b"".join(rest) == b"second\nthird\n"
    await communicator.wait(TIMEOUT)


@async_test
async def test_a_browser_that_leaves_stops_the_stream(app, cookie_of):
    name = secrets.token_hex(8)
    communicator = ApplicationCommunicator(
        app, http_scope("GET", app_url(LIVE, f"stream?gate={name}"), cookie_of("op_otto"))
    )
    await communicator.send_input({"type": "http.request", "body": b""})
    assert (await communicator.receive_output(TIMEOUT))["status"] == 200
    assert (await communicator.receive_output(TIMEOUT))["body"] == b"first\n"

    await communicator.send_input({"type": "http.disconnect"})
    # Done at once, not when the script's stream would have ended.
    started = time.monotonic()
    await communicator.wait(TIMEOUT)
    assert time.monotonic() - started < 2
    upstream_app.gate(name).set()


@async_test
async def test_a_large_response_arrives_intact(app, cookie_of):
    size = 5 * MiB + 123
    reply = await fetch(
        app, "GET", app_url(LIVE, f"large?size={size}"), cookie=cookie_of("op_otto")
    )
    assert reply.header("content-length") == str(size)
    assert len(reply.chunks) > 1
    assert (
        hashlib.sha256(reply.body).digest() == hashlib.sha256(upstream_app.pattern(size)).digest()
    )


@async_test
async def test_a_ten_megabyte_upload_streams_to_the_script_intact(app, cookie_of):
    size = 10 * MiB
    data = upstream_app.pattern(size)
    pieces = [data[i : i + upstream_app.CHUNK] for i in range(0, size, upstream_app.CHUNK)]
    name = secrets.token_hex(8)
    communicator = ApplicationCommunicator(
        app,
        http_scope(
            "POST",
            app_url(LIVE, f"upload?gate={name}&after={MiB // 2}"),
            cookie_of("op_otto"),
            [("content-type", "application/octet-stream"), ("content-length", str(size))],
        ),
    )
    head, tail = pieces[:16], pieces[16:]
    for piece in head:
        await communicator.send_input({"type": "http.request", "body": piece, "more_body": True})
    # The script has read half a megabyte while nine and more are still to be sent.
    assert await gate_opened(name)
    for i, piece in enumerate(tail, start=1):
        more = i < len(tail)
        await communicator.send_input({"type": "http.request", "body": piece, "more_body": more})

    reply = await read_reply(communicator)
    assert reply.json() == {
        "size": size,
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_length": str(size),
        "transfer_encoding": None,
    }


@async_test
async def test_an_upload_without_a_length_goes_chunked(app, cookie_of):
    data = upstream_app.pattern(MiB + 7)
    communicator = ApplicationCommunicator(
        app, http_scope("PUT", app_url(LIVE, "upload"), cookie_of("op_otto"))
    )
    for start in range(0, len(data), 100_000):
        more = start + 100_000 < len(data)
        body = data[start : start + 100_000]
        await communicator.send_input({"type": "http.request", "body": body, "more_body": more})
    reply = await read_reply(communicator)
    assert reply.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert reply.json()["transfer_encoding"] == "chunked"


@async_test
async def test_an_anonymous_visitor_is_sent_to_the_login_page(app, cookie_of):
    for token in (LIVE, UNKNOWN):  # the same answer, known token or not
        target = app_url(token, "echo?a=1&b=%20")
        reply = await fetch(app, "GET", target, cookie=cookie_of(None, script_pref="1"))
        assert reply.status == 302
        location = urlsplit(reply.header("location"))
        assert location.path == "/accounts/login/"
        assert parse_qs(location.query) == {"next": [target]}


@async_test
async def test_another_user_gets_the_same_404_as_a_missing_interface(app, cookie_of):
    others = [
        await fetch(app, "GET", app_url(LIVE, "echo"), cookie=cookie_of(name))
        for name in ("op_olga", "vic_viewer", "dev_dora")
    ]
    missing = await fetch(app, "GET", app_url(UNKNOWN, "echo"), cookie=cookie_of("op_otto"))
    assert missing.status == 404
    for reply in others:
        assert (reply.status, reply.headers, reply.body) == (404, missing.headers, missing.body)


@async_test
async def test_an_admin_gets_into_any_interface(app, cookie_of):
    reply = await fetch(app, "GET", app_url(LIVE, "echo"), cookie=cookie_of("ada_admin"))
    assert reply.status == 200
    assert reply.json()["path"] == "/echo"


@async_test
async def test_a_script_that_does_not_answer_gives_502(app, cookie_of):
    reply = await fetch(app, "GET", app_url(DOWN, "echo"), cookie=cookie_of("op_otto"))
    assert reply.status == 502
    assert reply.body == b"The script's interface is not answering."


@async_test
async def test_the_bare_prefix_redirects_to_the_trailing_slash(app, cookie_of):
    cookie = cookie_of("op_otto")
    reply = await fetch(app, "GET", f"/interfaces/{LIVE}/app?x=1", cookie=cookie)
    assert (reply.status, reply.header("location")) == (302, f"/interfaces/{LIVE}/app/?x=1")
    reply = await fetch(app, "GET", reply.header("location"), cookie=cookie)
    assert (reply.json()["path"], reply.json()["query"]) == ("/", "x=1")


@async_test
async def test_the_router_hands_everything_else_to_django(app, lookup, cookie_of):
    seen = []

    async def django_app(scope, receive, send):
        seen.append((scope["type"], scope["path"]))
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.close"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"django"})

    router = proxy_router(django_app, lookup)
    paths = [
        "/",
        "/interfaces/",
        f"/interfaces/{LIVE}/",
        f"/interfaces/{LIVE}/closed",
        f"/interfaces/{LIVE}/apple",
        f"/interfaces/{LIVE}/app.js",
        "/interfaces/not.a.token/app/",
        f"/x/interfaces/{LIVE}/app/",
    ]
    for path in paths:
        assert (await fetch(router, "GET", path)).body == b"django"
    communicator = WebsocketCommunicator(router, "/ws/logs/")
    assert await communicator.connect(TIMEOUT) == (False, 1000)
    assert seen == [("http", path) for path in paths] + [("websocket", "/ws/logs/")]

    reply = await fetch(router, "GET", app_url(LIVE, "echo"), cookie=cookie_of("op_otto"))
    assert reply.json()["path"] == "/echo"
    await router.aclose()
    # And through the real composition, Django answers its own URLs.
    assert (await fetch(app, "GET", "/health")).status == 200


# --- WebSocket ---------------------------------------------------------------------


def websocket(app, target: str, cookie: str | None, subprotocols=None) -> WebsocketCommunicator:
    headers = [(b"host", HOST.encode()), (b"origin", f"http://{HOST}".encode())]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    headers.append((b"authorization", b"Bearer manager-token"))
    return WebsocketCommunicator(app, target, headers=headers, subprotocols=subprotocols)


@async_test
async def test_websocket_relays_text_and_bytes_until_the_script_closes(app, cookie_of):
    target = app_url(SOCKET, "ws/echo?room=1")
    communicator = websocket(
        app, target, cookie_of("op_otto", script_pref="7"), subprotocols=["chat.v1", "chat.v2"]
    )
    assert await communicator.connect(TIMEOUT) == (True, "chat.v2")

    await communicator.send_to(text_data="h\u00e9llo")
    assert await communicator.receive_from(TIMEOUT) == "h\u00e9llo"
    await communicator.send_to(bytes_data=b"\x00\x01binary\xff")
    assert await communicator.receive_from(TIMEOUT) == b"\x00\x01binary\xff"

    await communicator.send_to(text_data="headers")
    handshake = json.loads(await communicator.receive_from(TIMEOUT))
    assert handshake["path"] == "/ws/echo?room=1"
    assert handshake["subprotocol"] == "chat.v2"
    assert handshake["headers"]["cookie"] == "script_pref=7"
    assert "authorization" not in handshake["headers"]
    assert handshake["headers"]["x-forwarded-prefix"] == f"/interfaces/{SOCKET}/app"
    assert handshake["headers"]["origin"] == f"http://{HOST}"

    await communicator.send_to(text_data="close:4321")
    closed = await communicator.receive_output(TIMEOUT)
    assert (closed["type"], closed["code"], closed["reason"]) == (
        "websocket.close",
        4321,
        "asked to",
    )
    await communicator.wait(TIMEOUT)


@async_test
async def test_websocket_close_by_the_browser_reaches_the_script(app, cookie_of):
    ident = secrets.token_hex(8)
    communicator = websocket(app, app_url(SOCKET, f"ws?id={ident}"), cookie_of("op_otto"))
    assert (await communicator.connect(TIMEOUT))[0]
    await communicator.send_to(text_data="ping")
    assert await communicator.receive_from(TIMEOUT) == "ping"
    await communicator.disconnect(code=4001, timeout=TIMEOUT)
    for _ in range(50):
        if ident in upstream_app.websocket_closes:
            break
        await asyncio.sleep(0.1)
    assert upstream_app.websocket_closes.get(ident) == 4001


@async_test
async def test_websocket_refusals(app, cookie_of):
    cases = [
        ("op_olga", SOCKET, "ws", CLOSE_NOT_FOUND),
        (None, SOCKET, "ws", CLOSE_LOGIN_REQUIRED),
        ("op_otto", UNKNOWN, "ws", CLOSE_NOT_FOUND),
        ("op_otto", DOWN, "ws", CLOSE_UPSTREAM_FAILED),
        ("op_otto", SOCKET, "missing", CLOSE_UPSTREAM_FAILED),  # the script says 404
    ]
    for name, token, rest, code in cases:
        communicator = websocket(app, app_url(token, rest), cookie_of(name))
        assert (name, token == SOCKET, await communicator.connect(TIMEOUT)) == (
            name,
            token == SOCKET,
            (False, code),
        )
        await communicator.wait(TIMEOUT)


@async_test
async def test_the_prefix_root_can_move(lookup, cookie_of):
    async def nothing_else(scope, receive, send):
        raise AssertionError(scope["path"])

    router = proxy_router(nothing_else, lookup, prefix_root="/apps/")
    try:
        reply = await fetch(
            router, "GET", f"/apps/{LIVE}/app/redirect/root", cookie=cookie_of("op_otto")
        )
        assert reply.header("location") == f"/apps/{LIVE}/app/landing?from=root"
        reply = await fetch(router, "GET", f"/apps/{LIVE}/app/echo", cookie=cookie_of("op_otto"))
        assert reply.json()["headers"]["x-forwarded-prefix"] == f"/apps/{LIVE}/app"
    finally:
        await router.aclose()


SANDBOXED = (
    ("sec-fetch-site", "cross-site"),
    ("sec-fetch-dest", "empty"),
    ("origin", "null"),
)


@async_test
async def test_a_sandboxed_frames_own_requests_are_let_in_by_the_owners_proof(app, cookie_of):
    # The frame's fetch() carries no cookie (opaque origin): the proof in the path is
    # the credential; the token alone is not.
    proven = f"{LIVE}.{PROOF}"
    reply = await fetch(app, "POST", app_url(proven, "echo"), headers=SANDBOXED, body="x=1")
    assert reply.status == 200
    assert reply.header("access-control-allow-origin") == "null"
    assert reply.json()["headers"]["x-forwarded-prefix"] == f"/interfaces/{proven}/app"
    for segment in (LIVE, UNKNOWN, f"{UNKNOWN}.{PROOF}", f"{LIVE}.{PROOF}x"):
        refused = await fetch(app, "POST", app_url(segment, "echo"), headers=SANDBOXED, body="x")
        assert (segment, refused.status) == (segment, 404)


@async_test
async def test_another_users_session_is_refused_even_with_the_owners_proof(app, cookie_of):
    proven = app_url(f"{LIVE}.{PROOF}", "echo")
    reply = await fetch(app, "GET", proven, cookie=cookie_of("op_olga"))
    assert reply.status == 404


@async_test
async def test_a_top_level_visit_without_a_session_still_needs_a_login(app, cookie_of):
    navigation = (("sec-fetch-site", "none"), ("sec-fetch-dest", "document"))
    for headers in (navigation, ()):
        reply = await fetch(app, "GET", app_url(LIVE, "echo"), headers=headers)
        assert reply.status == 302
        assert urlsplit(reply.header("location")).path == "/accounts/login/"


@async_test
async def test_the_null_origin_preflight_is_answered_by_the_proxy(app, cookie_of):
    preflight = (
        *SANDBOXED,
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "content-type"),
    )
    reply = await fetch(app, "OPTIONS", app_url(f"{LIVE}.{PROOF}", "echo"), headers=preflight)
    assert reply.status == 204
    assert reply.header("access-control-allow-origin") == "null"
    assert reply.header("access-control-allow-methods") == "PUT"
    assert reply.header("access-control-allow-headers") == "content-type"
    assert reply.header("access-control-allow-credentials") is None
