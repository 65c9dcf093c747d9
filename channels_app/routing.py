"""Websocket routes. Consumers live in channels_app.consumers.

The console's socket accepts only this site's own origin (ALLOWED_HOSTS), which stops
cross-site websocket hijacking with an agent's cookie. The widget's socket is opened from the
shops' sites, so it checks the origin against its channel's allowed origins itself."""

from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from channels_app.consumers import ConsoleConsumer
from channels_app.widget.consumer import WidgetConsumer

websocket_urlpatterns: list = [
    path("ws/console/", AllowedHostsOriginValidator(ConsoleConsumer.as_asgi())),
    path("ws/widget/", WidgetConsumer.as_asgi()),
]
