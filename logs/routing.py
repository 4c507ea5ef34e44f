"""WebSocket routes of the logs app, included by scriptsmanager/routing.py."""

from django.urls import path

from logs.consumers import ExecutionLogConsumer, UserLogsConsumer

websocket_urlpatterns = [
    path("ws/logs/user/", UserLogsConsumer.as_asgi(), name="logs_user_ws"),
    path(
        "ws/logs/<uuid:execution_uuid>/", ExecutionLogConsumer.as_asgi(), name="logs_execution_ws"
    ),
]
