"""/demo/shop/: a small shop page embedding the widget, for `make run` and browser tests."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from channels_app.widget.languages import LANGUAGES, RTL, pick_language
from helpdesk.inboxes.models import Channel, ChannelKind

PRODUCTS = (
    ("Linen shirt", "€49"),
    ("Canvas sneakers", "€79"),
    ("Wool scarf", "€29"),
)


@require_GET
def demo_shop(request: HttpRequest) -> HttpResponse:
    """`?lang=ar` sets the page language (the widget follows it); `?channel=<public_id>`
    picks a widget channel (default: the first active one)."""
    channels = Channel.objects.filter(kind=ChannelKind.WEB_WIDGET, is_active=True)
    wanted = request.GET.get("channel")
    try:
        channel = channels.filter(public_id=wanted).first() if wanted else channels.first()
    except ValueError:  # not a UUID
        channel = None
    if channel is None:
        raise Http404("No widget channel: run `manage.py load_demo` or create one in the admin.")
    language = pick_language(request.GET.get("lang"))
    return render(
        request,
        "demo/shop.html",
        {
            "channel": channel,
            "lang": language,
            "dir": "rtl" if language in RTL else "ltr",
            "languages": LANGUAGES,
            "products": PRODUCTS,
        },
    )
