"""Conversation services: every write to conversations and messages goes through here."""

from helpdesk.conversations.services.canned import canned_for_agent, canned_render, canned_variables
from helpdesk.conversations.services.delivery import message_update_delivery_status
from helpdesk.conversations.services.inbound import (
    InboundAttachment,
    InboundMessage,
    InboundResult,
    message_receive_inbound,
)
from helpdesk.conversations.services.replies import (
    check_reply_allowed,
    message_send_reply,
    note_create,
    reply_window_remaining,
)
from helpdesk.conversations.services.reply_files import ReplyFile
from helpdesk.conversations.services.state import (
    conversation_add_label,
    conversation_assign,
    conversation_change_status,
    conversation_remove_label,
    conversation_set_labels,
    conversation_set_priority,
    conversation_set_team,
    conversations_wake_snoozed,
)

__all__ = [
    "InboundAttachment",
    "InboundMessage",
    "InboundResult",
    "ReplyFile",
    "canned_for_agent",
    "canned_render",
    "canned_variables",
    "check_reply_allowed",
    "conversation_add_label",
    "conversation_assign",
    "conversation_change_status",
    "conversation_remove_label",
    "conversation_set_labels",
    "conversation_set_priority",
    "conversation_set_team",
    "conversations_wake_snoozed",
    "message_receive_inbound",
    "message_send_reply",
    "message_update_delivery_status",
    "note_create",
    "reply_window_remaining",
]
