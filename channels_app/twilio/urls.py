from django.urls import path

from channels_app.twilio import views

app_name = "twilio"

urlpatterns = [
    path("<uuid:public_id>/inbound", views.inbound, name="inbound"),
    path("<uuid:public_id>/status", views.status, name="status"),
]
