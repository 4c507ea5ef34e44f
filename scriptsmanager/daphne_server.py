"""The daphne that `manage.py serve` runs (`python -m scriptsmanager.daphne_server`,
daphne's own command line): daphne with two changes at the protocol layer.

Request bodies. Twisted reads a whole request body before daphne hands it to
the application, which then copies all of it into the application's queue, so
an ASGI middleware sees a body too late. Here the limit is checked as the body
arrives: a Content-Length over it is answered 413 as soon as the headers are
in, and a chunked body is counted chunk by chunk and answered 413 at the first
byte over. The limit depends on the route and on who sends it (see
`scriptsmanager.bodies`); deciding that takes a session look-up, which runs in
a thread while the body keeps arriving (into Twisted's temporary file, on disk
above 100 kB).

WebSocket close reasons. daphne sends the application's close code but drops
its reason; here the reason goes out too (the 4429 of the per-user cap says
"too many connections").

The access log. Its paths would otherwise carry the per-launch secret of every
script interface (`/interfaces/<token>/...`); each is replaced by a short
non-reversible id (`scriptsmanager.redaction`).
"""

import json
import logging
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from django.conf import settings
from django.db import connections
from twisted.internet import reactor, threads

from scriptsmanager.bodies import (
    BodyLimit,
    body_limit_for_route,
    body_limit_for_sender,
    body_refusal_message,
)
from scriptsmanager.redaction import interface_tokens_redact

logger = logging.getLogger(__name__)


def _discard(data: bytes) -> None:
    """What a refused connection does with the rest of the body: nothing."""


class BodyLimitedRequest(WebRequest):
    """daphne's request, refusing a body over its limit before it is read."""

    def gotLength(self, length: int | None) -> None:  # noqa: N802 - Twisted's name
        super().gotLength(length)
        self.body_received = 0
        self.body_refused = False
        self.pending_request: tuple | None = None
        target = getattr(self.channel, "_path", b"/")
        headers = self.requestHeaders
        # The largest limit the route may have, until we know who is sending.
        self.body_limit: BodyLimit = body_limit_for_route(target)
        self.body_length = length
        if length is not None and length > self.body_limit.most:
            self._refuse(self.body_limit.most)
            return
        if length is not None and length <= self.body_limit.anonymous:
            self.body_limit_known = True
            return
        self.body_limit_known = False
        cookies = dict(self.received_cookies)
        deferred = threads.deferToThread(_sender_limit, target, cookies, self.body_limit)
        deferred.addCallbacks(self._limit_known, self._limit_failed)
        self.accept_language = (headers.getRawHeaders(b"accept-language") or [b""])[0]

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        if self.body_refused:
            return
        self.body_received += len(data)
        limit = self.body_limit.applied if self.body_limit_known else self.body_limit.most
        if self.body_received > limit:
            self._refuse(limit)
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802
        if self.body_refused:
            return
        if not getattr(self, "body_limit_known", True):
            # The whole body arrived before the session look-up answered.
            self.pending_request = (command, path, version)
            return
        super().requestReceived(command, path, version)

    def _limit_known(self, limit: BodyLimit) -> None:
        self.body_limit = limit
        self.body_limit_known = True
        if self.body_refused:
            return
        known_length = self.body_length if self.body_length is not None else self.body_received
        if known_length > limit.applied:
            self._refuse(limit.applied)
            return
        if self.pending_request is not None and self.channel is not None:
            command, path, version = self.pending_request
            self.pending_request = None
            super().requestReceived(command, path, version)

    def _limit_failed(self, failure: Any) -> None:
        logger.error("Deciding a request body limit failed: %s", failure.getTraceback())
        self._limit_known(self.body_limit.as_anonymous())

    def _refuse(self, limit: int) -> None:
        """Answer 413 and stop reading: the connection is half-closed after the
        answer, the rest of the body is discarded as it comes, and the
        connection is closed when the client closes it or after a grace."""
        self.body_refused = True
        channel = self.channel
        transport = channel.transport if channel is not None else None
        if transport is None:
            return
        # Twisted would answer "100 Continue" after the headers: not after a 413.
        self.requestHeaders.removeHeader(b"expect")
        language = (
            getattr(self, "accept_language", None)
            or (self.requestHeaders.getRawHeaders(b"accept-language") or [b""])[0]
        )
        cookie_language = self.received_cookies.get(settings.LANGUAGE_COOKIE_NAME.encode(), b"")
        message = body_refusal_message(
            limit,
            language=cookie_language.decode("latin-1") or language.decode("latin-1", "replace"),
        )
        body = json.dumps({"detail": message}, ensure_ascii=False).encode()
        transport.write(
            b"HTTP/1.1 413 Content Too Large\r\n"
            b"Content-Type: application/json; charset=utf-8\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            b"Cache-Control: no-store\r\n"
            b"Connection: close\r\n\r\n" + body
        )
        channel.dataReceived = _discard
        channel.rawDataReceived = _discard
        channel.lineReceived = _discard
        channel.setTimeout(None)
        if hasattr(transport, "loseWriteConnection"):
            transport.loseWriteConnection()
            reactor.callLater(settings.REFUSED_BODY_LINGER_SECONDS, transport.loseConnection)
        else:
            transport.loseConnection()
        try:
            peer = transport.getPeer()
            target = interface_tokens_redact(
                getattr(channel, "_path", b"/").decode("ascii", "replace")
            )
            self.server.log_action(
                "http",
                "complete",
                {
                    "path": target,
                    "status": 413,
                    "method": (getattr(channel, "_command", b"") or b"-").decode(
                        "ascii", "replace"
                    ),
                    "client": f"{peer.host}:{peer.port}",
                    "time_taken": 0,
                    "size": len(body),
                },
            )
        except Exception:
            logger.exception("Logging a refused request body failed")


def _sender_limit(target: bytes, cookies: dict[bytes, bytes], limit: BodyLimit) -> BodyLimit:
    """In a thread of Twisted's pool: the limit for this sender."""
    try:
        return body_limit_for_sender(limit, target=target, cookies=cookies)
    finally:
        # The pool's threads live on: a connection they held would be lost to the pool.
        connections.close_all()


class BodyLimitedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:  # noqa: N802 - Twisted's name
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BodyLimitedRequest
        return protocol


class ReasonedWebSocketProtocol(WebSocketProtocol):
    """daphne's WebSocket protocol, sending the close reason with the code."""

    def handle_reply(self, message: dict[str, Any]) -> None:
        if (
            message.get("type") == "websocket.close"
            and message.get("reason")
            and self.state != self.STATE_CONNECTING
        ):
            code = message.get("code") or 1000
            # RFC 6455: at most 123 bytes of UTF-8 in a close frame's reason.
            reason = message["reason"].encode()[:123].decode("utf-8", "ignore")
            self.sendClose(code=code, reason=reason)
            return
        super().handle_reply(message)


class RedactingAccessLog:
    """daphne's action logger with interface tokens taken out of every path."""

    def __init__(self, logger_: Any) -> None:
        self.logger = logger_

    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        if "path" in details and isinstance(details["path"], str):
            details = {**details, "path": interface_tokens_redact(details["path"])}
        self.logger(protocol, action, details)


class EdgeServer(Server):
    """daphne's Server with the factories and access log above."""

    def __init__(self, *args: Any, action_logger: Any = None, **kwargs: Any) -> None:
        if action_logger is not None:
            action_logger = RedactingAccessLog(action_logger)
        super().__init__(*args, action_logger=action_logger, **kwargs)

    # Server.run() builds its HTTPFactory itself: whatever it assigns, ours is used.
    @property
    def http_factory(self) -> HTTPFactory:
        return self._http_factory

    @http_factory.setter
    def http_factory(self, factory: HTTPFactory) -> None:
        self._http_factory = BodyLimitedHTTPFactory(self)

    @property
    def ws_factory(self) -> WebSocketFactory:
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: WebSocketFactory) -> None:
        factory.protocol = ReasonedWebSocketProtocol
        self._ws_factory = factory


class EdgeCommandLineInterface(CommandLineInterface):
    server_class = EdgeServer


if __name__ == "__main__":
    EdgeCommandLineInterface.entrypoint()
