from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

from channels_app.widget.demo import demo_shop
from helpdesk.core.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("webhooks/twilio/", include("channels_app.twilio.urls")),
    path("reports/sla/", include("helpdesk.sla.urls")),
    path("widget/", include("channels_app.widget.urls")),
    path("demo/shop/", demo_shop, name="demo-shop"),
    path("", include("helpdesk.console.urls")),
]

if settings.DEBUG:
    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
