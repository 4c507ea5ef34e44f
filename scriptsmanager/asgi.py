"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Django must be set up before anything imports models, hence the order below.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scriptsmanager.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from execution.proxy import proxy_router  # noqa: E402
from execution.selectors import interface_target  # noqa: E402
from scriptsmanager.backpressure import backpressure  # noqa: E402
from scriptsmanager.proxies import TrustedProxyHeaders  # noqa: E402
from scriptsmanager.routing import websocket_urlpatterns  # noqa: E402

# /interfaces/<token>/app/... (HTTP and WebSocket) goes to the script behind the
# authenticated proxy; everything else to Django and the Channels routes.
application = ProtocolTypeRouter(
    {
        "http": proxy_router(backpressure(django_asgi_app), interface_target),
        "websocket": proxy_router(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
            interface_target,
        ),
    }
)
application = TrustedProxyHeaders(application)
