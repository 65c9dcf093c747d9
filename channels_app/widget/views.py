"""The widget's public JSON API. Each view parses input, calls one service or selector and
serializes; the base class answers CORS for the channel's allowed origins only, checks the
visitor token and rate limits, and turns domain errors into clear 4xx answers."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels_app.widget import origins, ratelimit
from channels_app.widget.identity import VisitorSession, session_customer, visitor_token_check
from channels_app.widget.languages import catalog, pick_language
from helpdesk.core.errors import DomainError, PermissionDenied
from helpdesk.customers.models import Customer
from helpdesk.inboxes.models import Channel, ChannelKind

TOKEN_HEADER = "X-Widget-Token"  # noqa: S105 (a header name)


def client_ip(request: HttpRequest) -> str:
    # The ASGI server (uvicorn --proxy-headers) already resolved a trusted X-Forwarded-For.
    return ratelimit.ip_bucket(request.META.get("REMOTE_ADDR") or "")


class WidgetAPIView(APIView):
    """Base for `/widget/api/<public_id>/…`: channel, origin, token, errors, CORS."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    needs_session = True

    channel: Channel
    origin: str = ""
    session: VisitorSession | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # Every answer, errors included (origin, rate limit, upload), speaks the widget's
        # language: it sends `?lang=` on each call. The previous language is restored after.
        lang = request.GET.get("lang")
        with translation.override(pick_language(lang) if lang else translation.get_language()):
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.channel = get_object_or_404(
            Channel, public_id=kwargs["public_id"], kind=ChannelKind.WEB_WIDGET, is_active=True
        )
        self.origin = origins.request_origin(request)
        if not origins.origin_allowed(self.channel, self.origin):
            raise PermissionDenied(
                _("This site may not use this chat widget (origin not allowed)."),
                code="origin_not_allowed",
            )
        if self.needs_session and request.method != "OPTIONS":
            self.session = visitor_token_check(
                channel=self.channel, token=request.headers.get(TOKEN_HEADER, "")
            )

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(status=status.HTTP_204_NO_CONTENT)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DomainError):
            data: dict[str, Any] = {"detail": exc.message, "code": exc.code}
            if isinstance(exc, ratelimit.RateLimited):
                # In the body too: a cross-origin script cannot read Retry-After.
                data["retry_after"] = exc.retry_after
            response = Response(data, status=exc.http_status)
            if isinstance(exc, ratelimit.RateLimited):
                response["Retry-After"] = str(exc.retry_after)
            return response
        if isinstance(exc, Http404):
            return Response(
                {"detail": _("Not found."), "code": "not_found"}, status=status.HTTP_404_NOT_FOUND
            )
        return super().handle_exception(exc)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        channel = getattr(self, "channel", None)
        if channel is not None and origins.origin_allowed(channel, self.origin):
            origins.add_cors_headers(response, self.origin)
        response["Cache-Control"] = "no-store"
        return response

    # --- helpers for subclasses -----------------------------------------------------------
    def rate(self, action: str, *, visitor_only: VisitorSession | None = None) -> None:
        """Count this request against `action`'s limits: per IP and, with a token, per
        visitor. `visitor_only` counts just that visitor (the IP was counted already)."""
        session = visitor_only or self.session
        ratelimit.check_rate(
            channel=self.channel,
            action=action,
            ip=None if visitor_only else client_ip(self.request),
            visitor=session.scope if session else None,
        )

    def customer(self) -> Customer | None:
        assert self.session is not None
        return session_customer(self.session)

    def require_customer(self) -> Customer:
        customer = self.customer()
        if customer is None:
            raise Http404
        return customer

    def language(self, value: str | None = None) -> str:
        """The widget's language (from the body, else `?lang=`), active for the rest of the
        request."""
        language = pick_language(value or self.request.query_params.get("lang"))
        translation.activate(language)
        return language


@cache_control(public=True, max_age=3600)
def catalog_view(request: HttpRequest, lang: str) -> JsonResponse:
    """The widget's strings in one language: public, the same for every site."""
    response = JsonResponse(catalog(lang), json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    return response
