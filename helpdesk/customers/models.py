from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Customer(models.Model):
    """One person, whatever channel they write from. Merged customers stay as tombstones
    (`merged_into`) so old references (widget tokens, exports) still resolve."""

    name = models.CharField(_("name"), max_length=200, blank=True)
    locale = models.CharField(_("language"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    custom_attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [models.Index(fields=["name"], name="customer_name")]

    def __str__(self) -> str:
        return self.name or _("Customer #%(id)s") % {"id": self.pk}

    @property
    def first_name(self) -> str:
        return (self.name or "").split(" ")[0]


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    WHATSAPP = "whatsapp", _("WhatsApp")
    WIDGET_VISITOR = "widget_visitor", _("Widget visitor")
    SHOP_CUSTOMER = "shop_customer", _("Shop customer id")
    EXTERNAL = "external", _("External id")


class ContactIdentity(models.Model):
    """An address a customer is reached at. Unique per (kind, address): one person, one customer.

    `verified` is set when the address was proven (a signed widget identity, a provider that
    authenticates the sender); unverified claims never attach to another customer's history.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identities", verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=IdentityKind.choices)
    address = models.CharField(_("address"), max_length=320)
    verified = models.BooleanField(_("verified"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact identity")
        verbose_name_plural = _("contact identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "address"], name="identity_unique_kind_address")
        ]
        indexes = [models.Index(fields=["address"], name="identity_address")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.address}"


class ChannelOptOut(models.Model):
    """A customer opted out of messages on one channel (SMS STOP and friends)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="opt_outs")
    channel = models.ForeignKey("inboxes.Channel", on_delete=models.CASCADE, related_name="+")
    opted_out_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="optout_unique_customer")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} opted out of {self.channel_id}"
