"""Websocket routes. Consumers live in channels_app.consumers."""

from django.urls import path

from channels_app.consumers import ConsoleConsumer
from channels_app.widget.consumer import WidgetConsumer

websocket_urlpatterns: list = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
    path("ws/widget/", WidgetConsumer.as_asgi()),
]
