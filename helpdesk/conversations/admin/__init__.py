"""Admin for managers: conversations (state changes go through the services), messages
(read-only), labels and canned responses. One module per concern; importing registers them."""

from helpdesk.conversations.admin.conversations import ConversationAdmin
from helpdesk.conversations.admin.library import CANNED_VARIABLES, CannedResponseAdmin, LabelAdmin
from helpdesk.conversations.admin.messages import MESSAGE_HISTORY_CAP, MessageAdmin, MessageInline

__all__ = [
    "CANNED_VARIABLES",
    "MESSAGE_HISTORY_CAP",
    "CannedResponseAdmin",
    "ConversationAdmin",
    "LabelAdmin",
    "MessageAdmin",
    "MessageInline",
]
