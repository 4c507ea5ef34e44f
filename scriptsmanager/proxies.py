"""X-Forwarded-For and X-Forwarded-Proto, believed only from trusted proxies.

Daphne's own --proxy-headers believes them from any peer, so a local process
talking to the server directly could pick any client address (and escape the
per-address login throttle) or claim https. This ASGI middleware applies them
only when the direct peer is in TRUSTED_PROXIES and drops them otherwise, so
nothing further down (Django's SECURE_PROXY_SSL_HEADER included) sees them.
"""

import ipaddress
from typing import Any

from django.conf import settings

FORWARDED_HEADERS = frozenset(
    {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port"}
)

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


class TrustedProxyHeaders:
    """Wraps the ASGI application (HTTP and WebSocket) when PROXY_HEADERS is on.

    From a trusted peer, the client is the right-most address of
    X-Forwarded-For that is not itself a trusted proxy, and the scheme comes
    from the last X-Forwarded-Proto value.
    """

    def __init__(
        self, app: Any, *, trusted: list[str] | None = None, enabled: bool | None = None
    ) -> None:
        self.app = app
        self.enabled = settings.PROXY_HEADERS if enabled is None else enabled
        self.trusted = [
            ipaddress.ip_network(network, strict=False)
            for network in (settings.TRUSTED_PROXIES if trusted is None else trusted)
        ]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if self.enabled and scope["type"] in ("http", "websocket"):
            scope = self._rewritten(scope)
        return await self.app(scope, receive, send)

    def _is_trusted(self, address: IPAddress | None) -> bool:
        return address is not None and any(address in network for network in self.trusted)

    def _rewritten(self, scope: dict) -> dict:
        headers = scope.get("headers") or []
        forwarded: dict[bytes, list[str]] = {}
        for name, value in headers:
            if name in FORWARDED_HEADERS:
                forwarded.setdefault(name, []).append(value.decode("latin-1"))
        if not forwarded:
            return scope
        peer = scope.get("client")
        if not self._is_trusted(_address(peer[0]) if peer else None):
            return {**scope, "headers": [h for h in headers if h[0] not in FORWARDED_HEADERS]}
        scope = dict(scope)
        chain = [
            part for value in forwarded.get(b"x-forwarded-for", []) for part in value.split(",")
        ]
        client = self._client(chain)
        if client is not None:
            scope["client"] = (client, 0)
        protos = forwarded.get(b"x-forwarded-proto")
        if protos:
            proto = protos[-1].split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                secure = proto == "https"
                if scope["type"] == "websocket":
                    scope["scheme"] = "wss" if secure else "ws"
                else:
                    scope["scheme"] = proto
        return scope

    def _client(self, chain: list[str]) -> str | None:
        """The right-most untrusted address of the chain; None (keep the peer)
        when the chain is empty or holds something that is not an address."""
        addresses = [_address(part) for part in chain if part.strip()]
        if not addresses or None in addresses:
            return None
        for address in reversed(addresses):
            if not self._is_trusted(address):
                return str(address)
        # Every hop is a trusted proxy (a client on the proxy's own host).
        return str(addresses[0])
