from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from channels_app.widget.demo import demo_shop
from channels_app.widget.files import signed_attachment
from helpdesk.core.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("webhooks/twilio/", include("channels_app.twilio.urls")),
    path("reports/sla/", include("helpdesk.sla.urls")),
    path("widget/", include("channels_app.widget.urls")),
    path("files/<str:token>/", signed_attachment, name="attachment-signed"),
    path("", include("helpdesk.console.urls")),
]

if settings.DEMO_ENABLED:
    urlpatterns.insert(0, path("demo/shop/", demo_shop, name="demo-shop"))
