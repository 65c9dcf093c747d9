"""X-Twilio-Signature: checked with twilio's RequestValidator against the public URL.

Behind a proxy the request's own host and scheme are not what Twilio signed, so the URL is
`PUBLIC_BASE_URL` + path + query. RequestValidator tries it with and without the default port.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from channels_app.twilio import config
from helpdesk.inboxes.models import Channel


def is_valid(
    channel: Channel, *, full_path: str, params: Mapping[str, str], headers: Mapping[str, str]
) -> bool:
    """True when `headers` (names in lower case) carry a valid signature of this request."""
    signature = headers.get(SIGNATURE_HEADER.lower(), "")
    token = config.auth_token(channel)
    if not signature or not token:
        return False
    algorithm = get_signature_algorithm(headers.get(SIGNATURE_SETTINGS_HEADER.lower(), ""))
    validator = RequestValidator(token)
    url = f"{settings.PUBLIC_BASE_URL}{full_path}"
    # The URL Twilio was given may carry our connection overrides as a fragment (which it
    # never sends); accept a signature made with or without it.
    return any(
        validator.validate(candidate, params, signature, algorithm=algorithm)
        for candidate in dict.fromkeys([url, url + config.connection_overrides()])
    )
