from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.core.errors import IllegalTransition


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")  # waiting on the customer
    SNOOZED = "snoozed", _("Snoozed")
    RESOLVED = "resolved", _("Resolved")


# Explicit transition table: anything not listed raises IllegalTransition.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    ConversationStatus.OPEN: frozenset({"pending", "snoozed", "resolved"}),
    ConversationStatus.PENDING: frozenset({"open", "snoozed", "resolved"}),
    ConversationStatus.SNOOZED: frozenset({"open", "pending", "resolved"}),
    ConversationStatus.RESOLVED: frozenset({"open"}),
}


def check_status_transition(current: str, new: str) -> None:
    if new not in ConversationStatus.values:
        raise IllegalTransition(_("Unknown status: %(s)s") % {"s": new})
    if new not in STATUS_TRANSITIONS[current]:
        raise IllegalTransition(
            _("A conversation cannot go from %(a)s to %(b)s.")
            % {"a": ConversationStatus(current).label, "b": ConversationStatus(new).label}
        )


class Priority(models.IntegerChoices):
    NONE = 0, _("None")
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class Label(models.Model):
    name = models.SlugField(_("name"), max_length=50, unique=True, allow_unicode=True)
    title = models.CharField(_("title"), max_length=80, blank=True)
    color = models.CharField(_("colour"), max_length=7, default="#6b7280")
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.title or self.name


class Conversation(models.Model):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="conversations",
    )
    channel = models.ForeignKey(
        "inboxes.Channel",
        verbose_name=_("channel"),
        on_delete=models.PROTECT,
        related_name="conversations",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ConversationStatus.choices, default="open"
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NONE
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
    )
    team = models.ForeignKey(
        "agents.Team",
        verbose_name=_("team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
    )
    labels = models.ManyToManyField(Label, verbose_name=_("labels"), blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    custom_attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)

    # When the customer wrote (webhooks: when we accepted it, not when it was processed).
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_activity_at = models.DateTimeField(_("last activity"), db_index=True)
    last_inbound_at = models.DateTimeField(_("last customer message"), null=True, blank=True)
    # The newest customer message's id, kept by the inbound service: unread markers and counts
    # compare it with how far each agent has read, without a subquery per conversation.
    last_inbound_message_id = models.BigIntegerField(default=0, editable=False)
    last_outbound_at = models.DateTimeField(_("last reply"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    waiting_since = models.DateTimeField(
        _("waiting since"),
        null=True,
        blank=True,
        help_text=_("When the customer started waiting for a reply; empty once answered."),
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    # SLA deadlines, kept right by the SLA services (helpdesk.sla). `sla_next_due_at` is the
    # earliest deadline not yet met, breached ones included (the inbox's "due soonest" sort);
    # `sla_unrecorded_due_at` and `sla_warn_at` are the earliest deadline and warning not yet
    # recorded (the breach job's query); `sla_state` holds the clocks (helpdesk.sla.clock).
    sla_policy = models.ForeignKey(
        "sla.SLAPolicy",
        verbose_name=_("SLA policy"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    next_response_due_at = models.DateTimeField(_("next response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_next_due_at = models.DateTimeField(_("next SLA deadline"), null=True, blank=True)
    sla_unrecorded_due_at = models.DateTimeField(
        _("next unrecorded SLA deadline"), null=True, blank=True
    )
    sla_warn_at = models.DateTimeField(_("next SLA warning"), null=True, blank=True)
    sla_paused_at = models.DateTimeField(_("SLA paused since"), null=True, blank=True)
    sla_state = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        indexes = [
            models.Index(fields=["status", "-last_activity_at"], name="conv_status_activity"),
            models.Index(
                fields=["assignee", "status", "-last_activity_at"], name="conv_assignee_activity"
            ),
            models.Index(fields=["team", "status", "-last_activity_at"], name="conv_team_activity"),
            models.Index(
                fields=["channel", "status", "-last_activity_at"], name="conv_channel_activity"
            ),
            models.Index(fields=["customer", "channel", "-created_at"], name="conv_customer"),
            models.Index(
                fields=["waiting_since"],
                name="conv_waiting",
                condition=Q(waiting_since__isnull=False),
            ),
            models.Index(
                fields=["sla_next_due_at"],
                name="conv_sla_due",
                condition=Q(sla_next_due_at__isnull=False),
            ),
            models.Index(
                fields=["sla_unrecorded_due_at"],
                name="conv_sla_unrecorded",
                condition=Q(sla_unrecorded_due_at__isnull=False),
            ),
            models.Index(
                fields=["sla_warn_at"],
                name="conv_sla_warn",
                condition=Q(sla_warn_at__isnull=False),
            ),
            models.Index(
                fields=["snoozed_until"],
                name="conv_snoozed_until",
                condition=Q(status="snoozed"),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"


class MessageDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    INTERNAL = "internal", _("Internal")  # notes and activity lines


class MessageKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    NOTE = "note", _("Private note")
    ACTIVITY = "activity", _("Activity")


class SenderType(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    BOT = "bot", _("Bot")
    SYSTEM = "system", _("System")


class DeliveryStatus(models.TextChoices):
    NONE = "", _("—")  # inbound, notes, activity
    PENDING = "pending", _("Pending")  # stored, not yet handed to the provider
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    UNDELIVERED = "undelivered", _("Undelivered")
    FAILED = "failed", _("Failed")


# Status only moves forward along this rank; final statuses never change again.
DELIVERY_RANK: dict[str, int] = {
    "": 0,
    "pending": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "delivered": 5,
    "read": 6,
    "undelivered": 7,
    "failed": 7,
}
FINAL_DELIVERY_STATUSES = frozenset({"undelivered", "failed"})


def delivery_status_moves_forward(current: str, new: str) -> bool:
    """True when `new` is a forward move from `current` (so it should be applied)."""
    if current in FINAL_DELIVERY_STATUSES:
        return False
    return DELIVERY_RANK.get(new, -1) > DELIVERY_RANK.get(current, 0)


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # Denormalized from the conversation so (channel, external_id) can be unique.
    channel = models.ForeignKey("inboxes.Channel", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=10, choices=MessageDirection.choices)
    kind = models.CharField(max_length=10, choices=MessageKind.choices, default="message")
    sender_type = models.CharField(max_length=10, choices=SenderType.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    text = models.TextField(blank=True)
    # Structured extras: button payloads, locations, template variables, activity details.
    content_attributes = models.JSONField(default=dict, blank=True)
    # NULL (not "") when absent, so the partial unique constraints below ignore it.
    external_id = models.CharField(  # noqa: DJ001
        _("provider message id"), max_length=120, null=True, blank=True
    )
    # Set by the console/widget so a double submit never creates two messages.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    delivery_status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default="", blank=True
    )
    error_code = models.CharField(max_length=20, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    status_updated_at = models.DateTimeField(null=True, blank=True)
    # Inbound webhooks: when we accepted it, so a processing backlog never shifts the timeline.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    # PostgreSQL only: the words of `text` for inbox search, kept by a database trigger (in
    # the `simple` configuration and the customer's language) and GIN-indexed. Empty on
    # SQLite, where search falls back to substring matching.
    search_document = SearchVectorField(null=True, editable=False)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                name="message_unique_provider_id",
                condition=Q(external_id__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                name="message_unique_client_id",
                condition=Q(client_id__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "id"], name="message_thread"),
            models.Index(
                fields=["delivery_status", "created_at"],
                name="message_undelivered",
                condition=Q(delivery_status__in=["pending", "queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.kind} #{self.pk}"

    @property
    def is_public(self) -> bool:
        return self.kind == MessageKind.MESSAGE


class ConversationSearch(models.Model):
    """PostgreSQL only: the words of all of a conversation's messages and private notes, one row
    per conversation, so inbox search finds each conversation once without collapsing its
    messages (migration 0006). Kept by database triggers on messages (insert adds the message's
    words; an edit, a move or a delete rebuilds the row from the remaining messages) and
    GIN-indexed; positions are stripped (search matches words, not phrases). Never written by
    the application. Empty on SQLite, where search reads messages directly."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, primary_key=True, related_name="search"
    )
    document = SearchVectorField(editable=False)

    def __str__(self) -> str:
        return f"search {self.conversation_id}"


class AttachmentStatus(models.TextChoices):
    PENDING = "pending", _("Fetching")
    STORED = "stored", _("Stored")
    FAILED = "failed", _("Could not be fetched")
    REFUSED = "refused", _("Refused (size or type)")


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    source_url = models.URLField(max_length=1000, blank=True)  # provider media, fetched by a job
    status = models.CharField(
        max_length=10, choices=AttachmentStatus.choices, default=AttachmentStatus.STORED
    )
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename or f"attachment #{self.pk}"


class CannedResponse(models.Model):
    """Reusable reply text, inserted with `/shortcut`; `{{customer.name}}`-style variables."""

    shortcut = models.SlugField(_("shortcut"), max_length=50, allow_unicode=True)
    text = models.TextField(_("text"))
    team = models.ForeignKey(
        "agents.Team",
        verbose_name=_("team"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text=_("Empty: available to everyone."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        ordering = ["shortcut"]
        constraints = [
            models.UniqueConstraint(
                fields=["shortcut", "team"],
                name="canned_unique_team_shortcut",
                condition=Q(team__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["shortcut"],
                name="canned_unique_global_shortcut",
                condition=Q(team__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class ConversationRead(models.Model):
    """How far an agent has read a conversation (drives unread markers and counts)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reads")
    last_read_message_id = models.BigIntegerField(default=0)
    read_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "conversation"], name="read_unique_user_conv")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.conversation_id} to {self.last_read_message_id}"
