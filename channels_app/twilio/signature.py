"""X-Twilio-Signature: checked with twilio's RequestValidator against the public URL.

Behind a proxy the request's own host and scheme are not what Twilio signed, so the URL is
`PUBLIC_BASE_URL` + path + query. RequestValidator tries it with and without the default port.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from channels_app.twilio import config
from helpdesk.inboxes.models import Channel


def public_url(request: HttpRequest) -> str:
    return f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"


def is_signed(channel: Channel, request: HttpRequest) -> bool:
    signature = request.headers.get(SIGNATURE_HEADER, "")
    token = config.auth_token(channel)
    if not signature or not token:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER, ""))
    return RequestValidator(token).validate(
        public_url(request), request.POST, signature, algorithm=algorithm
    )
