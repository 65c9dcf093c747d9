from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from helpdesk.conversations.models import Priority


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


class BusinessCalendar(models.Model):
    """When the team works: weekly opening periods and holidays, in one time zone."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Oslo", validators=[validate_time_zone]
    )

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningPeriod(models.Model):
    """One open stretch on a weekday. An end not after the start runs past midnight
    (22:00-02:00); 00:00-00:00 is the whole day. Several per weekday; they may touch."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="periods")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("opens"))
    end_time = models.TimeField(
        _("closes"), help_text=_("A time not after the opening time means the next day.")
    )

    class Meta:
        verbose_name = _("opening period")
        verbose_name_plural = _("opening periods")
        ordering = ["weekday", "start_time"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class Holiday(models.Model):
    """A closed date, or a closed range of dates (inclusive). Closes the periods that start on
    those dates in the calendar's time zone."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    name = models.CharField(_("name"), max_length=100)
    start_date = models.DateField(_("date"))
    end_date = models.DateField(
        _("until"), null=True, blank=True, help_text=_("Empty for a single day.")
    )

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="holiday_range_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SLAPolicy(models.Model):
    """Targets for first response, next response and resolution, each in business time (by the
    policy's calendar) or 24/7, with a warning threshold and an escalation on breach."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("business calendar"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty: every target runs 24/7."),
    )
    is_default = models.BooleanField(
        _("default policy"), default=False, help_text=_("Applies when no rule matches.")
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response (minutes)"), null=True, blank=True
    )
    first_response_business = models.BooleanField(
        _("first response in business time"), default=True
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response (minutes)"), null=True, blank=True
    )
    next_response_business = models.BooleanField(_("next response in business time"), default=True)
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (minutes)"), null=True, blank=True
    )
    resolution_business = models.BooleanField(_("resolution in business time"), default=True)
    warn_percent = models.PositiveSmallIntegerField(
        _("warning threshold (percent of target)"),
        default=80,
        validators=[MaxValueValidator(99)],
        help_text=_("0 for no warnings."),
    )
    escalate_priority = models.PositiveSmallIntegerField(
        _("on breach, raise priority to"), choices=Priority.choices, null=True, blank=True
    )
    escalate_team = models.ForeignKey(
        "agents.Team",
        verbose_name=_("on breach, move to team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    escalate_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("on breach, assign to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="sla_one_default_policy"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SLARule(models.Model):
    """Which policy applies: the first rule (by position) whose every filled-in condition
    matches the conversation wins; otherwise the default policy."""

    position = models.PositiveIntegerField(_("position"), default=0)
    policy = models.ForeignKey(
        SLAPolicy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="rules"
    )
    channel = models.ForeignKey(
        "inboxes.Channel",
        verbose_name=_("channel"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, null=True, blank=True
    )
    label = models.ForeignKey(
        "conversations.Label",
        verbose_name=_("label"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
    )
    team = models.ForeignKey(
        "agents.Team", verbose_name=_("team"), on_delete=models.CASCADE, null=True, blank=True
    )
    customer_attribute = models.CharField(_("customer attribute"), max_length=100, blank=True)
    customer_attribute_value = models.CharField(
        _("customer attribute value"), max_length=200, blank=True
    )

    class Meta:
        verbose_name = _("SLA rule")
        verbose_name_plural = _("SLA rules")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.position}: {self.policy}"


class SLATarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class SLAEventKind(models.TextChoices):
    WARNING = "warning", _("Warning")
    BREACHED = "breached", _("Breached")
    MET = "met", _("Met")
    MET_LATE = "met_late", _("Done after breach")


class SLAEvent(models.Model):
    """A warning, a breach or a completion of one target cycle, recorded exactly once.

    `cycle` counts the target's runs on the conversation (each customer message that starts a
    wait is a new next-response cycle; each reopening a new resolution cycle). Completions
    carry `elapsed_seconds` (time charged) and `business_time` (whether that is business time on
    the policy's calendar or plain 24/7 time) for reports; policy, channel, team and assignee
    are copied so reports need no joins and survive later changes.
    """

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="sla_events"
    )
    target = models.CharField(max_length=20, choices=SLATarget.choices)
    cycle = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=SLAEventKind.choices)
    due_at = models.DateTimeField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    elapsed_seconds = models.PositiveIntegerField(null=True, blank=True)
    business_time = models.BooleanField(
        _("elapsed in business time"), null=True, blank=True, help_text=_("Empty: no elapsed time.")
    )
    policy = models.ForeignKey(SLAPolicy, on_delete=models.SET_NULL, null=True, related_name="+")
    channel = models.ForeignKey("inboxes.Channel", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        "agents.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("SLA event")
        verbose_name_plural = _("SLA events")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "target", "cycle", "kind"], name="sla_event_once"
            )
        ]
        indexes = [models.Index(fields=["occurred_at"], name="sla_event_occurred")]

    def __str__(self) -> str:
        return f"{self.conversation_id} {self.target}#{self.cycle} {self.kind}"


class Acknowledgement(models.Model):
    """An automatic "we got your message, expect a reply by …" sent to a customer. One row per
    send; the service allows at most one per conversation per channel period."""

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="acknowledgements"
    )
    message = models.OneToOneField(
        "conversations.Message", on_delete=models.CASCADE, related_name="+"
    )
    trigger_message_id = models.BigIntegerField(unique=True)
    sent_at = models.DateTimeField()

    class Meta:
        verbose_name = _("automatic acknowledgement")
        verbose_name_plural = _("automatic acknowledgements")
        indexes = [models.Index(fields=["conversation", "-sent_at"], name="sla_ack_recent")]

    def __str__(self) -> str:
        return f"ack {self.conversation_id} @ {self.sent_at:%Y-%m-%d %H:%M}"
