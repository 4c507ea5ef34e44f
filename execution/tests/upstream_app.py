"""A script's interface as the proxy meets it, for the proxy tests: a Flask app
(echoes, redirects, cookies, streams, large bodies) and a WebSocket echo server,
each on a free loopback port in a thread of the test process.

Gates (`gate(name)`) let a test and a handler wait on each other, which is how
the tests prove that bodies stream instead of being buffered whole.
"""

import hashlib
import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response, jsonify, redirect, request
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection
from websockets.sync.server import serve as websocket_serve
from werkzeug.serving import make_server

CHUNK = 64 * 1024
GATE_TIMEOUT = 10

_gates: dict[str, threading.Event] = defaultdict(threading.Event)
_gates_lock = threading.Lock()

# WebSocket close codes the server received from its clients, by ?id=.
websocket_closes: dict[str, int | None] = {}


def gate(name: str) -> threading.Event:
    with _gates_lock:
        return _gates[name]


def pattern(size: int) -> bytes:
    """`size` bytes that are not all alike, so a reordered chunk changes the digest."""
    block = bytes(range(256)) * (CHUNK // 256)
    whole, rest = divmod(size, CHUNK)
    return b"".join(block[:-1] + bytes([i % 256]) for i in range(whole)) + block[:rest]


app = Flask(__name__)


METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@app.route("/", endpoint="root", methods=METHODS)
@app.route("/echo", endpoint="echo", methods=METHODS)
@app.route("/echo/<path:rest>", endpoint="echo_rest", methods=METHODS)
def echo(rest=""):
    """Everything the request carried, as the script received it."""
    return jsonify(
        method=request.method,
        path=request.path,
        raw_uri=request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI"),
        query=request.query_string.decode(),
        headers={name.lower(): value for name, value in request.headers.items()},
        cookies=request.cookies,
        body=request.get_data(as_text=True),
    )


@app.route("/redirect/<kind>")
def redirect_to(kind):
    targets = {
        "absolute": f"http://{request.host}/landing?from=absolute",
        "root": "/landing?from=root",
        "top": "/",
        "relative": "landing",
        "prefixed": request.headers.get("X-Forwarded-Prefix", "") + "/landing",
        "foreign": "https://example.com/elsewhere",
    }
    response = redirect(targets[kind], code=302)
    # Werkzeug would keep it as given; make sure nothing turns it absolute.
    response.autocorrect_location_header = False
    return response


@app.route("/cookies/set")
def cookies_set():
    response = Response("cookies set")
    response.headers.add("Set-Cookie", "at_root=1; Path=/; HttpOnly")
    response.headers.add("Set-Cookie", "no_path=2; SameSite=Lax")
    response.headers.add("Set-Cookie", "scoped=3; Domain=127.0.0.1; Path=/sub; Secure")
    response.headers.add(
        "Set-Cookie", "dated=4; Expires=Wed, 21 Oct 2037 07:28:00 GMT; path=/; domain=.local"
    )
    response.headers.add("Set-Cookie", "sessionid=planted; Path=/")
    return response


@app.route("/headers/framing")
def framing():
    response = Response("framed")
    response.headers["Content-Security-Policy"] = "default-src 'self'"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "unsafe-url"
    return response


@app.route("/headers/origin-wide")
def origin_wide():
    """Headers that would act on the manager's whole origin, and one of its own."""
    response = Response("origin-wide")
    response.headers["Clear-Site-Data"] = '"cookies", "storage", "cache"'
    response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    response.headers["Alt-Svc"] = 'h3=":4433"; ma=86400'
    response.headers["NEL"] = '{"report_to": "evil", "max_age": 86400}'
    response.headers["Report-To"] = '{"group": "evil", "endpoints": [{"url": "http://x/"}]}'
    response.headers["Reporting-Endpoints"] = 'evil="http://x/"'
    response.headers["Accept-CH"] = "Sec-CH-UA-Full-Version-List"
    response.headers["Origin-Agent-Cluster"] = "?0"
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["X-Script-Own"] = "kept"
    return response


@app.route("/headers/any-framer")
def any_framer():
    response = Response("framed by anyone")
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors *; img-src *"
    return response


@app.route("/stream")
def stream():
    """One chunk, then wait for the test to have received it, then the rest."""
    name = request.args["gate"]

    def generate():
        yield b"first\n"
        if not gate(name).wait(GATE_TIMEOUT):
            yield b"gate timed out\n"
            return
        yield b"second\n"
        yield b"third\n"

    return Response(generate(), mimetype="text/plain")


@app.route("/large")
def large():
    size = int(request.args["size"])
    return Response(pattern(size), mimetype="application/octet-stream")


@app.route("/upload", methods=["POST", "PUT"])
def upload():
    """Digest of the body, read as it arrives; opens gate `?gate=` once
    `?after=` bytes are in, while the client may still be sending."""
    digest = hashlib.sha256()
    size = 0
    after = int(request.args.get("after", 0))
    name = request.args.get("gate")
    while chunk := request.stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if name and size >= after:
            gate(name).set()
    return jsonify(
        size=size,
        sha256=digest.hexdigest(),
        content_length=request.headers.get("Content-Length"),
        transfer_encoding=request.headers.get("Transfer-Encoding"),
    )


def websocket_handler(connection: ServerConnection) -> None:
    """Echo every message. "headers" answers with the handshake as received;
    "close:<code>" makes the server close with that code. Records the close
    code it got under the handshake's ?id=."""
    handshake = connection.request
    try:
        for message in connection:
            if message == "headers":
                headers = {name.lower(): value for name, value in handshake.headers.raw_items()}
                seen = {"path": handshake.path, "headers": headers}
                connection.send(json.dumps({**seen, "subprotocol": connection.subprotocol}))
            elif isinstance(message, str) and message.startswith("close:"):
                connection.close(int(message.removeprefix("close:")), "asked to")
            else:
                connection.send(message)
    except ConnectionClosed:
        pass  # how iterating ends on any close code but 1000 and 1001
    finally:
        for pair in handshake.path.partition("?")[2].split("&"):
            if pair.startswith("id="):
                websocket_closes[pair.removeprefix("id=")] = connection.close_code


def _chat_v2_if_offered(connection: ServerConnection, offered):
    return "chat.v2" if "chat.v2" in offered else None


def _refuse_unknown_paths(connection: ServerConnection, handshake):
    if handshake.path.startswith("/missing"):
        return connection.respond(404, "no WebSocket here\n")
    return None


@contextmanager
def serving_http() -> Iterator[int]:
    """The Flask app on a free loopback port (threaded, HTTP/1.1); yields the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def serving_websocket() -> Iterator[int]:
    """The WebSocket echo server on a free loopback port, speaking only the
    "chat.v2" subprotocol when one is asked for; yields the port."""
    server = websocket_serve(
        websocket_handler,
        "127.0.0.1",
        0,
        select_subprotocol=_chat_v2_if_offered,
        process_request=_refuse_unknown_paths,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.socket.getsockname()[1]
    finally:
        server.shutdown()
        thread.join(5)
