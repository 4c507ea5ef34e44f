"""X-Forwarded-For / X-Forwarded-Proto are believed only from TRUSTED_PROXIES:
a local process talking to the server directly cannot pick its address."""

import http.client
import json
from http.cookies import SimpleCookie

import pytest

from scriptsmanager.proxies import TrustedProxyHeaders
from scriptsmanager.testing import app_database_query, run_async, running_app

# Its subject does not depend on the database: run on one backend (bin/test).
pytestmark = pytest.mark.one_backend


def login_from(url: str, source: str, forwarded_for: str, username: str) -> int:
    """POST /api/auth/login with a wrong password from the loopback address `source`."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=15, source_address=(source, 0))
    try:
        connection.request("GET", "/api/auth/user")
        response = connection.getresponse()
        response.read()
        cookie = SimpleCookie(response.getheader("Set-Cookie"))
        token = cookie["csrftoken"].value
        connection.request(
            "POST",
            "/api/auth/login",
            body=json.dumps({"username": username, "password": "wrong"}),
            headers={
                "Content-Type": "application/json",
                "Cookie": f"csrftoken={token}",
                "X-CSRFToken": token,
                "X-Forwarded-For": forwarded_for,
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_only_a_trusted_proxy_can_say_who_the_client_is(tmp_path):
    data = tmp_path / "data"
    env = {
        "PROXY_HEADERS": "true",
        "TRUSTED_PROXIES": "127.0.0.2",
        "LOGIN_THROTTLE_MAX_PER_ADDRESS": "3",
        "LOGIN_THROTTLE_MAX_PER_PAIR": "50",
        "LOGIN_BACKOFF_AFTER": "1000",
    }
    with running_app(data, extra_env=env, serve_args=("--only", "web")) as url:
        # Straight to the server from 127.0.0.1, not a trusted proxy: a new
        # forwarded address each time does not escape the per-address limit.
        direct = [login_from(url, "127.0.0.1", f"203.0.113.{n}", f"ghost{n}") for n in range(5)]
        # Through the trusted proxy, each forwarded address is a client of its own.
        proxied = [login_from(url, "127.0.0.2", f"198.51.100.{n}", "ghost") for n in range(5)]
    assert direct == [401, 401, 401, 429, 429]
    assert proxied == [401] * 5
    rows = app_database_query(
        data,
        "SELECT ip_address, actor_username FROM accounts_auditevent "
        "WHERE action = 'login_failed' ORDER BY id",
    )
    assert [str(address) for address, _name in rows] == ["127.0.0.1"] * 3 + [
        f"198.51.100.{n}" for n in range(5)
    ]


def scope_seen(peer: str, headers: dict[str, str], trusted: list[str]) -> dict:
    """The scope the application behind TrustedProxyHeaders gets for one HTTP request."""
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    middleware = TrustedProxyHeaders(app, trusted=trusted, enabled=True)
    scope = {
        "type": "http",
        "scheme": "http",
        "client": (peer, 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    run_async(middleware(scope, None, None))
    return seen


def test_the_client_is_the_right_most_untrusted_forwarded_address():
    seen = scope_seen(
        "10.0.0.2",
        {"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.0.0.3", "X-Forwarded-Proto": "https"},
        ["10.0.0.0/24"],
    )
    assert seen["client"][0] == "198.51.100.7"
    assert seen["scheme"] == "https"


def test_forwarded_headers_from_an_untrusted_peer_are_dropped():
    seen = scope_seen(
        "192.0.2.9",
        {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https", "Host": "x"},
        ["127.0.0.1", "::1"],
    )
    assert seen["client"] == ("192.0.2.9", 50000)
    assert seen["scheme"] == "http"
    assert seen["headers"] == [(b"host", b"x")]


def test_an_ipv4_mapped_loopback_peer_counts_as_loopback():
    seen = scope_seen("::ffff:127.0.0.1", {"X-Forwarded-For": "198.51.100.8"}, ["127.0.0.1"])
    assert seen["client"][0] == "198.51.100.8"
