"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Django must be set up before anything imports models, hence the order below.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptsmanager.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from execution.interface_proofs import interface_proof_for_session  # noqa: E402
from execution.proxy import proxy_router  # noqa: E402
from execution.selectors import interface_target  # noqa: E402
from execution.websocket_slots import WebSocketAllowance, websocket_slot  # noqa: E402
from scriptsmanager.backpressure import backpressure  # noqa: E402
from scriptsmanager.origins import ExactOriginValidator  # noqa: E402
from scriptsmanager.proxies import TrustedProxyHeaders  # noqa: E402
from scriptsmanager.routing import websocket_urlpatterns  # noqa: E402

# /interfaces/<token>/app/... (HTTP and WebSocket) goes to the script behind the
# authenticated proxy; everything else to Django and the Channels routes. Every
# WebSocket, the proxy's included, must come from the manager's exact origin,
# and counts against its user's allowance.
_proxy = {"proof_issue": interface_proof_for_session, "websocket_slot": websocket_slot}
application = ProtocolTypeRouter(
    {
        "http": proxy_router(backpressure(django_asgi_app), interface_target, **_proxy),
        "websocket": ExactOriginValidator(
            proxy_router(
                AuthMiddlewareStack(WebSocketAllowance(URLRouter(websocket_urlpatterns))),
                interface_target,
                **_proxy,
            ),
            opaque_prefix="/interfaces/",
        ),
    }
)
application = TrustedProxyHeaders(application)
