from django.urls import path

from helpdesk.console.views import (
    actions,
    attachments,
    auth,
    conversation,
    inbox,
    notifications,
    preferences,
)

app_name = "console"

urlpatterns = [
    path("login/", auth.ConsoleLoginView.as_view(), name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("", inbox.inbox, name="inbox"),
    path("counts/", inbox.counts, name="counts"),
    path("c/<int:conversation_id>/", conversation.conversation_detail, name="conversation"),
    path("c/<int:conversation_id>/reply/", actions.reply, name="reply"),
    path("c/<int:conversation_id>/assign/", actions.assign, name="assign"),
    path("c/<int:conversation_id>/team/", actions.team, name="team"),
    path("c/<int:conversation_id>/status/", actions.status, name="status"),
    path("c/<int:conversation_id>/priority/", actions.priority, name="priority"),
    path("c/<int:conversation_id>/labels/", actions.labels, name="labels"),
    path("a/<int:attachment_id>/", attachments.attachment, name="attachment"),
    path("notifications/", notifications.notifications, name="notifications"),
    path("notifications/read/", notifications.notifications_read, name="notifications_read"),
    path(
        "notifications/<int:notification_id>/",
        notifications.notification_open,
        name="notification_open",
    ),
    path("me/language/", preferences.language, name="language"),
    path("me/availability/", preferences.availability, name="availability"),
]
