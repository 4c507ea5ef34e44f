"""WebSocket routes of every app, collected in one list for asgi.py."""

from logs.routing import websocket_urlpatterns as logs_websocket_urlpatterns

websocket_urlpatterns: list = [*logs_websocket_urlpatterns]
