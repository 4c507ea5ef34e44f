"""GET /health: an anonymous liveness report for monitors and load balancers."""

import socket
from datetime import datetime

import pytest

pytestmark = pytest.mark.django_db


def _health(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_an_anonymous_monitor_gets_a_healthy_report(client):
    body = _health(client)

    assert body["status"] == "healthy"
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None
    assert body["database"]["ok"] is True
    assert isinstance(body["conda"]["available"], bool)
    assert isinstance(body["active_scripts"], int)
    assert not isinstance(body["active_scripts"], bool)


def test_the_port_usage_matches_the_configured_script_port_range(client, settings):
    usage = _health(client)["port_usage"]

    assert usage["range_start"] == settings.PORT_RANGE_START
    assert usage["range_end"] == settings.PORT_RANGE_END
    assert usage["total"] == settings.PORT_RANGE_END - settings.PORT_RANGE_START + 1
    assert 0 <= usage["in_use"] <= usage["total"]
    assert usage["free"] == usage["total"] - usage["in_use"]


def test_a_program_listening_inside_the_port_range_counts_as_in_use(client, settings):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        settings.PORT_RANGE_START = max(1024, port - 2)
        settings.PORT_RANGE_END = min(65535, port + 2)
        before = _health(client)["port_usage"]

        sock.listen()
        after = _health(client)["port_usage"]

    assert after["range_start"] <= port <= after["range_end"]
    assert after["total"] == settings.PORT_RANGE_END - settings.PORT_RANGE_START + 1
    assert after["in_use"] == before["in_use"] + 1
    assert after["free"] == before["free"] - 1


def test_it_refuses_anything_but_get(client):
    assert client.post("/health").status_code == 405
