"""Interface tokens never reach the product's own log files."""

import hashlib
import logging
import secrets
from pathlib import Path

from django.conf import settings


def test_a_missing_interface_is_logged_without_its_token(client_for, personas):
    token = secrets.token_urlsafe(24)
    response = client_for("op_olga").get(f"/interfaces/{token}/")
    assert response.status_code == 404  # Django logs "Not Found: <path>"
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = (Path(settings.SYSTEM_LOG_DIR) / "application.log").read_text()
    assert "~" + hashlib.sha256(token.encode()).hexdigest()[:8] in text
    assert token not in text
