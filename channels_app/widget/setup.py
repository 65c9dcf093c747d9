"""The widget channel's admin setup panel: the embed snippet and how to sign identities."""

from __future__ import annotations

from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from channels_app.widget.origins import allowed_origins
from helpdesk.inboxes.models import Channel

# Language-neutral pseudo-code (the README has a worked example). The older
# "<customer_id>|<email>|<unix_time>" form is still accepted while neither field contains "|",
# but new shops are shown only this one.
IDENTITY_RECIPE = (
    'field(s) = utf8_byte_length(s) + ":" + s\n'
    'message = "relay-identity-v2" + "\\n" + field(customer_id) + "\\n" + field(email)'
    ' + "\\n" + unix_time\n'
    "signature = hex(HMAC_SHA256(signing_secret, message))\n"
    "window.RelayWidget = {identity: {customer_id, email, name, timestamp: unix_time, "
    "signature}}"
)


def embed_snippet(channel: Channel) -> str:
    """The exact tag a shop pastes into its pages (plain text)."""
    return (
        f'<script src="{settings.PUBLIC_BASE_URL}/static/widget/widget.js" '
        f'data-channel="{channel.public_id}" async></script>'
    )


def setup_html(channel: Channel) -> SafeString:
    """Safe HTML for the admin: the snippet (escaped, shown as code), the allowed origins and
    the identity-signing recipe."""
    if channel.pk is None:
        return format_html("<p>{}</p>", _("Save the channel to see its embed snippet."))
    origins = sorted(allowed_origins(channel))
    origins_text = ", ".join(origins) if origins else _(
        "none yet: add the shop's origins to settings as "
        '"allowed_origins": ["https://shop.example"]'
    )
    return format_html(
        '<div class="widget-setup">'
        "<p>{paste}</p><pre><code>{snippet}</code></pre>"
        "<p>{origins_label} <code>{origins}</code></p>"
        "<p>{identity}</p><pre><code>{recipe}</code></pre></div>",
        paste=_("Paste this tag into every page of the shop, just before </body>:"),
        snippet=embed_snippet(channel),
        origins_label=_("Pages allowed to embed the widget:"),
        origins=origins_text,
        identity=_(
            "To show a logged-in customer their history on any device, sign their identity on "
            "the shop's server with this channel's signing secret and pass it to the widget:"
        ),
        recipe=IDENTITY_RECIPE,
    )
