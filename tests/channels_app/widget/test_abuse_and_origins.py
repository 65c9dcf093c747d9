from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from channels_app.widget import ratelimit
from channels_app.widget.identity import visitor_token_check
from channels_app.widget.origins import normalize_origin
from channels_app.widget.setup import setup_html
from helpdesk.conversations.models import Attachment, Message
from tests.channels_app.widget.support import PDF, PNG, SHOP_ORIGIN, WidgetClient

pytestmark = pytest.mark.django_db


# --- Origins ----------------------------------------------------------------------------------


def test_allowed_origin_gets_cors_headers(shop_channel):
    response = WidgetClient(shop_channel).start()
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert "Origin" in response["Vary"]


def test_other_origin_is_refused_with_403(shop_channel):
    response = WidgetClient(shop_channel, origin="https://evil.example").start()
    assert response.status_code == 403
    assert response.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response


def test_request_without_origin_is_refused(shop_channel, client):
    response = client.post(
        f"/widget/api/{shop_channel.public_id}/session", {}, content_type="application/json"
    )
    assert response.status_code == 403


def test_same_origin_get_is_recognised_by_referer(shop_channel, visitor, client):
    response = client.get(
        f"/widget/api/{shop_channel.public_id}/conversations",
        headers={"Referer": f"{SHOP_ORIGIN}/products/1", "X-Widget-Token": visitor.token},
    )
    assert response.status_code == 200


def test_preflight_answers_only_allowed_origins(shop_channel, client):
    url = f"/widget/api/{shop_channel.public_id}/messages"
    ok = client.options(url, headers={"Origin": SHOP_ORIGIN,
                                      "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert "X-Widget-Token" in ok["Access-Control-Allow-Headers"]
    bad = client.options(url, headers={"Origin": "https://evil.example"})
    assert bad.status_code == 403 and "Access-Control-Allow-Origin" not in bad


def test_normalize_origin_drops_default_ports_and_paths():
    assert normalize_origin("HTTPS://Shop.Example:443/path?q=1") == "https://shop.example"
    assert normalize_origin("http://localhost:8000/") == "http://localhost:8000"
    assert normalize_origin("javascript:alert(1)") == ""


# --- Rate limits ------------------------------------------------------------------------------


def test_rate_limit_per_visitor_answers_429_with_a_clear_message(shop_channel, visitor):
    shop_channel.settings["rate_limits"] = {"message_per_visitor": 2}
    shop_channel.save()
    assert visitor.send("1").status_code == 201
    assert visitor.send("2").status_code == 201
    response = visitor.send("3")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert "wait" in response.json()["detail"]
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another visitor is not affected by this one's limit.
    other = WidgetClient(shop_channel, ip="198.51.100.1")
    other.start()
    assert other.send("hi").status_code == 201


def test_errors_speak_the_widget_language(shop_channel, visitor, monkeypatch):
    from django.utils import translation

    from channels_app.widget import views

    def tagged(message: str) -> str:
        return f"[{translation.get_language()}] {message}"

    monkeypatch.setattr(ratelimit, "_", tagged)
    monkeypatch.setattr(views, "_", tagged)
    shop_channel.settings["rate_limits"] = {"message_per_visitor": 0}
    shop_channel.save()
    url = visitor.url("messages") + "?lang=es"
    limited = visitor.client.post(
        url, {"client_id": "client-msg-0001", "text": "hola"}, content_type="application/json",
        headers={"X-Widget-Token": visitor.token},
    )
    assert limited.status_code == 429 and limited.json()["detail"].startswith("[es] ")
    refused = WidgetClient(shop_channel, origin="https://evil.example").get("conversations",
                                                                              lang="fr")
    assert refused.status_code == 403 and refused.json()["detail"].startswith("[fr] ")
    assert translation.get_language() == "en"  # restored after the request


def test_rate_limit_per_ip_covers_many_visitors(shop_channel):
    shop_channel.settings["rate_limits"] = {"session_per_ip": 3}
    shop_channel.save()
    codes = [WidgetClient(shop_channel, ip="192.0.2.50").start().status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert WidgetClient(shop_channel, ip="192.0.2.51").start().status_code == 200


def _limit(channel, **limits: int) -> None:
    channel.settings["rate_limits"] = limits
    channel.save()


def test_rate_limit_conversation_list_per_visitor_answers_429_with_retry_after(
    shop_channel, visitor
):
    _limit(shop_channel, conversations_per_visitor=2)
    assert visitor.get("conversations").status_code == 200
    assert visitor.get("conversations").status_code == 200
    limited = visitor.get("conversations")
    assert limited.status_code == 429
    body = limited.json()
    assert body["code"] == "rate_limited" and "Too many requests" in body["detail"]
    assert 1 <= body["retry_after"] <= 60 and limited["Retry-After"] == str(body["retry_after"])
    assert limited["Access-Control-Allow-Origin"] == SHOP_ORIGIN  # the widget can read it
    # Another shopper on the same network is not affected by this one's limit.
    neighbour = WidgetClient(shop_channel)
    neighbour.start()
    assert neighbour.get("conversations").status_code == 200


def test_rate_limit_message_history_per_visitor_and_per_ip(shop_channel, visitor):
    conversation_id = visitor.send("hi").json()["message"]["conversation_id"]
    path = f"conversations/{conversation_id}/messages"
    _limit(shop_channel, history_per_visitor=1)
    assert visitor.get(path).status_code == 200
    assert visitor.get(path).status_code == 429
    cache.clear()
    _limit(shop_channel, history_per_ip=2)
    others = [WidgetClient(shop_channel, ip="192.0.2.80") for _ in range(3)]
    for other in others:
        other.start()
    codes = [other.get("conversations/1/messages").status_code for other in others]
    assert codes == [404, 404, 429]  # counted before the conversation is even looked up


def test_rate_limit_session_per_visitor_follows_the_token_across_addresses(shop_channel, visitor):
    _limit(shop_channel, session_per_visitor=1)  # the fixture's first start had no token yet
    moved = WidgetClient(shop_channel, ip="198.51.100.20")
    moved.token = visitor.token
    assert moved.start().status_code == 200
    limited = moved.start()
    assert limited.status_code == 429 and limited.json()["retry_after"] >= 1
    # Without that token (a fresh visitor) the same address may still start.
    assert WidgetClient(shop_channel, ip="198.51.100.20").start().status_code == 200


def test_rate_limit_defaults_let_a_reconnect_storm_through(shop_channel, visitor):
    """A laptop lid opens with the shop open in eight tabs, twice within a minute: every tab
    resumes its session, reloads the list and catches up on the thread."""
    conversation_id = visitor.send("hi").json()["message"]["conversation_id"]
    codes = set()
    for _round in range(2):
        for _tab in range(8):
            tab = WidgetClient(shop_channel)
            tab.token = visitor.token
            codes.add(tab.start().status_code)
            codes.add(tab.get("conversations").status_code)
            for _page in range(3):
                codes.add(tab.get(f"conversations/{conversation_id}/messages", after=0).status_code)
    assert codes == {200}
    scope = visitor_token_check(channel=shop_channel, token=visitor.token).scope
    for _ in range(8 * 2 * 3):  # and the sockets of those tabs, each retrying a few times
        ratelimit.check_rate(channel=shop_channel, action="socket", ip="203.0.113.7", visitor=scope)


def test_rate_limit_window_resets():
    now = 1_000_000 * 60.0
    assert ratelimit.hit("t", limit=1, now=now).allowed
    blocked = ratelimit.hit("t", limit=1, now=now + 1)
    assert not blocked.allowed and blocked.retry_after == 59
    assert ratelimit.hit("t", limit=1, now=now + 61).allowed


# --- Uploads ----------------------------------------------------------------------------------


def test_upload_image_is_stored_with_the_message(visitor):
    response = visitor.upload(PNG, "photo.png", "image/png", text="the damage")
    assert response.status_code == 201, response.json()
    attachment = Attachment.objects.get()
    assert attachment.status == "stored" and attachment.content_type == "image/png"
    assert attachment.message.text == "the damage"
    shown = response.json()["message"]["attachments"][0]
    assert shown["name"] == "photo.png" and shown["url"].startswith("http")


def test_upload_is_stored_under_a_server_name_with_the_detected_extension(visitor):
    response = visitor.upload(b"GIF89a<script>alert(1)</script>", "x.html", "text/html")
    assert response.status_code == 201, response.json()
    attachment = Attachment.objects.get()
    stored = Path(attachment.file.name)
    assert attachment.content_type == "image/gif" and stored.suffix == ".gif"
    assert re.fullmatch(r"[0-9a-f]{32}", stored.stem), stored  # random, not the shopper's
    assert attachment.filename == "x.html"  # the shopper's name, kept as display text only
    shown = response.json()["message"]["attachments"][0]
    assert shown["name"] == "x.html" and "/files/" in shown["url"]
    served = visitor.client.get(shown["url"])  # the signed link serves it inert
    assert served["Content-Type"] == "image/gif"
    assert "sandbox" in served["Content-Security-Policy"]


def test_upload_downloads_under_the_detected_extension(visitor):
    visitor.upload(b"GIF89a<script>alert(1)</script>", "x.html", "text/html")
    conversation_id = visitor.get("conversations").json()["conversations"][0]["id"]
    messages = visitor.get(f"conversations/{conversation_id}/messages").json()["messages"]
    served = visitor.client.get(messages[0]["attachments"][0]["url"])
    assert served["Content-Type"] == "image/gif"
    assert served["Content-Disposition"] == 'inline; filename="x.gif"'


def test_upload_name_with_a_path_is_display_text_only(visitor):
    assert visitor.upload(PNG, "../../static/evil.png", "image/png").status_code == 201
    attachment = Attachment.objects.get()
    assert attachment.filename == "evil.png"
    assert attachment.file.name.startswith("attachments/") and "evil" not in attachment.file.name


def test_upload_goes_to_the_temporary_media_root(visitor):
    visitor.upload(PNG, "photo.png", "image/png")
    path = Path(Attachment.objects.get().file.path).resolve()
    assert path.is_relative_to(Path(django_settings.MEDIA_ROOT).resolve())
    assert not path.is_relative_to((Path(django_settings.BASE_DIR) / "media").resolve())


def test_upload_pdf_without_text_is_accepted(visitor):
    assert visitor.upload(PDF, "receipt.pdf", "application/pdf").status_code == 201
    assert Attachment.objects.get().content_type == "application/pdf"


def test_upload_too_large_is_413(visitor, settings):
    settings.ATTACHMENT_MAX_BYTES = 50
    response = visitor.upload(PNG, "big.png", "image/png")
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert not Message.objects.exists()


def test_upload_wrong_type_is_415_even_when_renamed(visitor):
    response = visitor.upload(b"MZ\x90\x00binary", "invoice.pdf", "application/pdf")
    assert response.status_code == 415
    assert "PDF" in response.json()["detail"]
    assert visitor.upload(b"plain text", "a.txt", "text/plain").status_code == 415


def test_upload_empty_file_is_400(visitor):
    response = visitor.upload(b"", "empty.png", "image/png")
    assert response.status_code == 400 and response.json()["code"] == "empty_file"


# --- Setup, demo and size ---------------------------------------------------------------------


def test_setup_html_shows_escaped_snippet(shop_channel, settings):
    settings.PUBLIC_BASE_URL = "https://relay.example.com"
    html = str(setup_html(shop_channel))
    assert (
        "&lt;script src=&quot;https://relay.example.com/static/widget/widget.js&quot; "
        f"data-channel=&quot;{shop_channel.public_id}&quot; async&gt;&lt;/script&gt;"
    ) in html
    assert SHOP_ORIGIN in html


def test_setup_html_shows_the_length_prefixed_identity_recipe(shop_channel):
    html = str(setup_html(shop_channel))
    assert "relay-identity-v2" in html and "utf8_byte_length" in html
    assert "&lt;customer_id&gt;|&lt;email&gt;" not in html  # the ambiguous form is not taught


def test_demo_shop_embeds_the_widget(shop_channel, client):
    response = client.get("/demo/shop/?lang=ar")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-channel="{shop_channel.public_id}"' in html
    assert "/static/widget/widget.js" in html and " async" in html
    assert 'lang="ar" dir="rtl"' in html


def test_widget_first_open_fits_in_30kb_gzipped():
    static = Path(django_settings.BASE_DIR) / "static" / "widget"
    catalogs = Path(django_settings.BASE_DIR) / "channels_app" / "widget" / "catalog"
    script = gzip.compress((static / "widget.js").read_bytes(), 9)
    largest_catalog = max(len(gzip.compress(p.read_bytes(), 9)) for p in catalogs.glob("*.json"))
    total = len(script) + largest_catalog
    assert total <= 30 * 1024, f"{total} bytes gzipped"


def test_declared_body_over_the_limit_is_413_before_it_is_read(visitor, settings):
    settings.REQUEST_BODY_MAX_BYTES = 100
    response = visitor.upload(PNG + b"\0" * 200, "big.png", "image/png")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large" and "MB" in response.json()["error"]
    assert not Message.objects.exists()
