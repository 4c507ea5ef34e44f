import pytest
from django.test import Client

from scriptsmanager.testing import PERSONA_PASSWORD, PERSONAS


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.AUDIT_LOG_DIR = tmp_path / "audit"
    settings.LOGS_DIR = tmp_path / "logs"


@pytest.fixture
def personas(db):
    """The suite's shared cast: an admin, a developer, two operators, a viewer."""
    from accounts.models import User

    return {
        name: User.objects.create_user(
            username=name, email=f"{name}@example.com", password=PERSONA_PASSWORD, user_level=level
        )
        for name, level in PERSONAS.items()
    }


@pytest.fixture
def client_for(personas):
    """client_for("op_otto") -> a Django test Client logged in as that persona."""

    def make(name: str, **kwargs) -> Client:
        client = Client(**kwargs)
        client.force_login(personas[name])
        return client

    return make


@pytest.fixture
def csrf_client(db):
    """A client that enforces CSRF checks, as a browser's requests would meet them."""
    return Client(enforce_csrf_checks=True)
