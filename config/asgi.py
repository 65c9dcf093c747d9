"""ASGI entry point: provider webhooks on their own raw route (durable accept, see
channels_app.ingest), other HTTP through Django (behind a body-size limit), websockets through
Channels (origins are checked per route, see channels_app.routing)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from channels_app.ingest.asgi import accept_webhooks  # noqa: E402
from channels_app.routing import websocket_urlpatterns  # noqa: E402
from helpdesk.core.asgi_limits import limit_concurrency, limit_request_body  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": accept_webhooks(
            limit_concurrency(
                limit_request_body(
                    django_asgi_app, max_bytes=lambda: settings.REQUEST_BODY_MAX_BYTES
                ),
                max_concurrent=lambda: settings.WEB_MAX_CONCURRENT_REQUESTS,
                max_wait=lambda: settings.WEB_QUEUE_TIMEOUT,
            )
        ),
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
