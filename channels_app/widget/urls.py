from django.urls import path

from channels_app.widget import api, views

app_name = "widget"

urlpatterns = [
    path("i18n/<str:lang>.json", views.catalog_view, name="catalog"),
    path("api/<uuid:public_id>/session", api.SessionView.as_view(), name="session"),
    path(
        "api/<uuid:public_id>/conversations",
        api.ConversationListView.as_view(),
        name="conversations",
    ),
    path(
        "api/<uuid:public_id>/conversations/<int:conversation_id>/messages",
        api.MessageListView.as_view(),
        name="messages",
    ),
    path("api/<uuid:public_id>/messages", api.SendView.as_view(), name="send"),
    path("api/<uuid:public_id>/email", api.EmailView.as_view(), name="email"),
    path("api/<uuid:public_id>/read", api.ReadView.as_view(), name="read"),
]
