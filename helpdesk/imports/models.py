"""Which customer and conversation each external reference of an imported file became.

A reference is the stable id the shop's previous helpdesk gave a record (`customer_ref`,
`conversation_ref`). Unique, so importing a file again finds what it made the first time
instead of making it twice. Rows go with their customer or conversation (erasure, deletion);
a customer merge moves them to the surviving customer like every other customer reference.
Messages need no table: their reference is kept in `Message.client_id` (unique per
conversation), their provider id in `Message.external_id` (unique per channel).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

REF_MAX_LENGTH = 200


class ImportedCustomer(models.Model):
    ref = models.CharField(_("external reference"), max_length=REF_MAX_LENGTH, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)

    class Meta:
        verbose_name = _("imported customer")
        verbose_name_plural = _("imported customers")

    def __str__(self) -> str:
        return self.ref


class ImportedConversation(models.Model):
    ref = models.CharField(_("external reference"), max_length=REF_MAX_LENGTH, unique=True)
    conversation = models.OneToOneField(
        "conversations.Conversation",
        verbose_name=_("conversation"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("imported"), default=timezone.now)

    class Meta:
        verbose_name = _("imported conversation")
        verbose_name_plural = _("imported conversations")

    def __str__(self) -> str:
        return self.ref
