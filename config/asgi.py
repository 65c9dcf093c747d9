"""ASGI entry point: provider webhooks on their own raw route (durable accept, see
channels_app.ingest), other HTTP through Django (behind a body-size limit, a deadline for the
body and a bound on concurrent requests: helpdesk.core.asgi_limits), websockets through Channels
(origins are checked per route, see channels_app.routing)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from channels_app.ingest.asgi import accept_webhooks  # noqa: E402
from channels_app.routing import websocket_urlpatterns  # noqa: E402
from helpdesk.core.asgi_limits import (  # noqa: E402
    limit_concurrency,
    limit_request_body,
    read_body_first,
)

# Outside in: the size limit sees every body chunk as it arrives; the body is read whole (or
# refused) before the request asks for a turn; a turn lasts until the response starts.
application = ProtocolTypeRouter(
    {
        "http": accept_webhooks(
            limit_request_body(
                read_body_first(
                    limit_concurrency(
                        django_asgi_app,
                        max_concurrent=lambda: settings.WEB_MAX_CONCURRENT_REQUESTS,
                        max_wait=lambda: settings.WEB_QUEUE_TIMEOUT,
                    ),
                    timeout=lambda: settings.WEB_BODY_TIMEOUT,
                ),
                max_bytes=lambda: settings.REQUEST_BODY_MAX_BYTES,
            )
        ),
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
