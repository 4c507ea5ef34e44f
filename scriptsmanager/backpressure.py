"""Flow control for streamed HTTP responses under daphne.

Daphne writes every ASGI body message straight into Twisted's transport and
returns at once: a response produced faster than the client reads it (a
200 MB log download to a slow or merely Python-speed client) piles up in the
worker's memory. Twisted itself knows when its send buffer is full: it pauses
a push producer registered on the request and resumes it once the buffer has
drained. `backpressure` registers such a producer for every streamed response
and makes the application's `send` wait while it is paused, so a download
holds at most a send buffer or so in memory, whatever its size.

Under a server that is not daphne (its `send` is not a bound Twisted request)
this does nothing: such servers do their own flow control.
"""

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Throttle:
    """A Twisted IPushProducer that only records whether writing may go on."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.ready.set()

    def pauseProducing(self) -> None:  # noqa: N802 - Twisted's interface
        self.ready.clear()

    def resumeProducing(self) -> None:  # noqa: N802
        self.ready.set()

    def stopProducing(self) -> None:  # noqa: N802
        # The connection is gone: daphne drops what is sent from now on.
        self.ready.set()


def _twisted_request(send: Send) -> Any | None:
    """The Twisted request behind daphne's `send`, or None under another server."""
    if isinstance(send, functools.partial) and send.args:
        request = send.args[0]
        if hasattr(request, "registerProducer") and hasattr(request, "notifyFinish"):
            return request
    return None


def backpressure(app: App) -> App:
    """`app` whose streamed HTTP responses wait for the client to keep up."""

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        request = _twisted_request(send) if scope["type"] == "http" else None
        if request is None:
            await app(scope, receive, send)
            return
        throttle = _Throttle()
        registered = False
        # A connection lost while paused must not leave the response waiting.
        request.notifyFinish().addBoth(lambda _result: throttle.ready.set())

        async def paced_send(message: Message) -> None:
            nonlocal registered
            streaming = message["type"] == "http.response.body" and message.get("more_body")
            if streaming and not registered:
                request.registerProducer(throttle, True)
                registered = True
            elif message["type"] == "http.response.body" and not streaming and registered:
                # Twisted wants the producer gone before the request finishes.
                request.unregisterProducer()
                registered = False
            await send(message)
            if registered:
                await throttle.ready.wait()

        try:
            await app(scope, receive, paced_send)
        finally:
            if registered and request.channel is not None:
                request.unregisterProducer()

    return application
