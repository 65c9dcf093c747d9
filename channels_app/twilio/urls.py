from django.urls import path

from channels_app.twilio import picker, views

app_name = "twilio"

urlpatterns = [
    path("<uuid:public_id>/inbound", views.inbound, name="inbound"),
    path("<uuid:public_id>/status", views.status, name="status"),
    # The console's template picker (agents only).
    path("templates/c/<int:conversation_id>/", picker.template_picker, name="template_picker"),
    path("templates/c/<int:conversation_id>/send", picker.template_send, name="template_send"),
]
