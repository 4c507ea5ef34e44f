"""Who may use a script interface's URL: the real ASGI application (the real
token look-up, proofs and sessions in the database) in front of a real script
server. A leaked interface URL must be useless to anyone but its owner."""

import secrets
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

from execution.models import ScriptProcess
from execution.tests import upstream_app
from execution.tests.test_proxy import HOST, SANDBOXED, TIMEOUT, async_test, fetch
from logs.models import ExecutionLog
from scriptsmanager.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

FRAME_NAVIGATION = (("sec-fetch-site", "same-origin"), ("sec-fetch-dest", "iframe"))


@pytest.fixture(scope="module")
def upstream_port():
    with upstream_app.serving_http() as port:
        yield port


@pytest.fixture(scope="module")
def websocket_port():
    with upstream_app.serving_websocket() as port:
        yield port


def interface_of(owner, port: int) -> str:
    """A live interface of `owner` served on `port`; its token."""
    token = secrets.token_urlsafe(24)
    execution = ExecutionLog.objects.create(
        user=owner, username=owner.username, script_name="ui.py", status="running"
    )
    ScriptProcess.objects.create(
        execution=execution,
        user=owner,
        status="running",
        tab_session_id=token,
        flask_port=port,
        exit_file="/nonexistent",
    )
    return token


@pytest.fixture
def sessions(personas, client_for):
    return {name: client_for(name).cookies[settings.SESSION_COOKIE_NAME].value for name in personas}


def cookie(session_key: str) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={session_key}"


async def frame_url_of(token: str, session_key: str, rest: str = "echo") -> str:
    """Where the owner's frame is sent when it opens the interface: the URL its
    own (cookie-less) requests then use."""
    reply = await fetch(
        application,
        "GET",
        f"/interfaces/{token}/app/{rest}",
        cookie=cookie(session_key),
        headers=FRAME_NAVIGATION,
    )
    assert reply.status == 302, reply.status
    location = reply.header("location")
    assert location.startswith(f"/interfaces/{token}.") and location.endswith(f"/app/{rest}")
    return location


@async_test
async def test_a_leaked_token_without_a_session_is_refused_whatever_fetch_metadata_says(
    personas, upstream_port
):
    token = await sync_to_async(interface_of)(personas["op_otto"], upstream_port)
    reply = await fetch(
        application, "POST", f"/interfaces/{token}/app/echo", headers=SANDBOXED, body=b"x=1"
    )
    assert reply.status == 404


@async_test
async def test_the_owners_frame_gets_in_with_the_proof_of_their_session(
    personas, sessions, upstream_port
):
    token = await sync_to_async(interface_of)(personas["op_otto"], upstream_port)
    frame_url = await frame_url_of(token, sessions["op_otto"])
    # The frame's own fetch(): no cookie, Origin null.
    reply = await fetch(application, "POST", frame_url, headers=SANDBOXED, body=b"x=1")
    assert reply.status == 200
    assert reply.json()["headers"]["x-forwarded-prefix"] == frame_url.rsplit("/", 1)[0]
    # The same session gets the same proof again (a reload, a second tab).
    assert await frame_url_of(token, sessions["op_otto"]) == frame_url


@async_test
async def test_a_leaked_frame_url_is_refused_to_another_user_and_after_the_owner_signs_out(
    personas, sessions, upstream_port
):
    token = await sync_to_async(interface_of)(personas["op_otto"], upstream_port)
    frame_url = await frame_url_of(token, sessions["op_otto"])
    other = await fetch(application, "GET", frame_url, cookie=cookie(sessions["op_olga"]))
    assert other.status == 404
    navigation = await fetch(
        application, "GET", frame_url, cookie=cookie(sessions["op_olga"]), headers=FRAME_NAVIGATION
    )
    assert navigation.status == 404

    await sync_to_async(SessionStore(session_key=sessions["op_otto"]).delete)()
    reply = await fetch(application, "POST", frame_url, headers=SANDBOXED, body=b"x=1")
    assert reply.status == 404
    visit = await fetch(application, "GET", frame_url)
    assert visit.status == 302
    assert urlsplit(visit.header("location")).path == "/accounts/login/"


@async_test
async def test_an_admins_proof_lets_their_frame_in_and_another_users_session_gets_none(
    personas, sessions, upstream_port
):
    token = await sync_to_async(interface_of)(personas["op_otto"], upstream_port)
    frame_url = await frame_url_of(token, sessions["ada_admin"])
    reply = await fetch(application, "GET", frame_url, headers=SANDBOXED)
    assert reply.status == 200
    refused = await fetch(
        application,
        "GET",
        f"/interfaces/{token}/app/echo",
        cookie=cookie(sessions["op_olga"]),
        headers=FRAME_NAVIGATION,
    )
    assert refused.status == 404


def websocket(path: str, *, origin: str, session_key: str | None = None) -> WebsocketCommunicator:
    headers = [(b"host", HOST.encode()), (b"origin", origin.encode())]
    if session_key:
        headers.append((b"cookie", cookie(session_key).encode()))
    return WebsocketCommunicator(application, path, headers=headers)


@async_test
async def test_the_interface_websocket_refuses_a_foreign_origin(personas, sessions, websocket_port):
    token = await sync_to_async(interface_of)(personas["op_otto"], websocket_port)
    path = f"/interfaces/{token}/app/ws"
    for origin in ("http://127.0.0.1:5201", "https://127.0.0.1:8000", "http://evil.example"):
        communicator = websocket(path, origin=origin, session_key=sessions["op_otto"])
        connected, _ = await communicator.connect(TIMEOUT)
        assert (origin, connected) == (origin, False)
        await communicator.disconnect()
    communicator = websocket(path, origin=f"http://{HOST}", session_key=sessions["op_otto"])
    assert (await communicator.connect(TIMEOUT))[0]
    await communicator.send_to(text_data="ping")
    assert await communicator.receive_from(TIMEOUT) == "ping"
    await communicator.disconnect()


@async_test
async def test_the_frames_websocket_needs_the_proof_not_a_session(
    personas, sessions, upstream_port, websocket_port
):
    token = await sync_to_async(interface_of)(personas["op_otto"], websocket_port)
    # Origin null is a sandboxed frame's: any session it carries is ignored.
    bare = websocket(f"/interfaces/{token}/app/ws", origin="null", session_key=sessions["op_otto"])
    assert (await bare.connect(TIMEOUT))[0] is False
    await bare.disconnect()
    frame_url = await frame_url_of(token, sessions["op_otto"], rest="ws")
    communicator = websocket(frame_url, origin="null")
    assert (await communicator.connect(TIMEOUT))[0]
    await communicator.send_to(text_data="ping")
    assert await communicator.receive_from(TIMEOUT) == "ping"
    await communicator.disconnect()


def test_the_owners_frame_may_upload_more_than_an_anonymous_sender(personas, sessions, settings):
    from execution.interface_proofs import interface_proof_for_token
    from scriptsmanager.bodies import body_limit_for_route, body_limit_for_sender

    token = interface_of(personas["op_otto"], 5999)
    proof = interface_proof_for_token(
        token=token, user=personas["op_otto"], session_key=sessions["op_otto"]
    )
    for segment, expected in (
        (f"{token}.{proof}", settings.INTERFACE_BODY_MAX_BYTES),
        (token, settings.ANONYMOUS_BODY_MAX_BYTES),
        (f"{token}.{proof[:-1]}", settings.ANONYMOUS_BODY_MAX_BYTES),
    ):
        target = f"/interfaces/{segment}/app/upload".encode()
        limit = body_limit_for_sender(body_limit_for_route(target), target=target, cookies={})
        assert (segment, limit.applied) == (segment, expected)
