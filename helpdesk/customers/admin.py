"""Admin for customers: identities and conversations shown inline, merge as an action.

Identities are read-only here: addresses are normalized and attached by the services (a typed
address could otherwise create a second identity for the same phone number)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.conversations.models import Conversation
from helpdesk.core.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin, intermediate_form
from helpdesk.core.errors import DomainError
from helpdesk.customers.models import ChannelOptOut, ContactIdentity, Customer
from helpdesk.customers.services import customer_merge, customer_update

CONVERSATIONS_SHOWN = 20


class IdentityInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = ContactIdentity
    fields = ["kind", "address", "verified", "created_at"]
    readonly_fields = fields
    show_change_link = False


class LatestConversationsFormSet(forms.BaseInlineFormSet):
    def get_queryset(self) -> QuerySet:
        if not hasattr(self, "_latest"):
            self._latest = (
                super().get_queryset().order_by("-last_activity_at")[:CONVERSATIONS_SHOWN]
            )
        return self._latest


class ConversationInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Conversation
    formset = LatestConversationsFormSet
    verbose_name_plural = gettext_lazy("latest conversations (at most 20)")
    fields = ["channel", "status", "priority", "assignee", "last_activity_at"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("channel", "assignee")


class MergedFilter(admin.SimpleListFilter):
    title = gettext_lazy("merged")
    parameter_name = "merged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", _("Active customers")), ("yes", _("Merged into another"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "no":
            return queryset.filter(merged_into__isnull=True)
        if self.value() == "yes":
            return queryset.filter(merged_into__isnull=False)
        return queryset


class MergeForm(forms.Form):
    target = forms.ModelChoiceField(
        queryset=Customer.objects.none(),
        widget=forms.RadioSelect,
        label=gettext_lazy("Keep this customer"),
        help_text=gettext_lazy(
            "The other customer's identities, conversations and attributes move to this one; "
            "it stays behind as a pointer to the one kept."
        ),
    )

    def __init__(self, *args: Any, customers: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = customers
        self.fields["target"].label_from_instance = lambda c: f"{c} (#{c.pk})"


PROFILE_FIELDS = ("name", "locale", "time_zone", "custom_attributes")


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = list(PROFILE_FIELDS)

    def clean_time_zone(self) -> str:
        from zoneinfo import available_timezones

        value = self.cleaned_data.get("time_zone") or ""
        if value and value not in available_timezones():
            raise forms.ValidationError(_("Unknown time zone: %(tz)s") % {"tz": value})
        return value


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerForm
    list_display = [
        "name",
        "identity_list",
        "locale",
        "time_zone",
        "conversation_count",
        "merged_into",
        "created_at",
    ]
    list_filter = [MergedFilter, "locale", "identities__kind", "created_at"]
    search_fields = ["name", "identities__address", "=id"]
    readonly_fields = ["merged_into", "created_at", "updated_at"]
    fields = ["name", "locale", "time_zone", "custom_attributes", *readonly_fields]
    inlines = [IdentityInline, ConversationInline]
    actions = ["merge_into"]
    ordering = ["-created_at"]

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        """Profile edits go through `customer_update` (time-zone check, SLA re-evaluation on
        attribute changes, the `customer.updated` event); a new customer is a plain insert."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        fields = {f: form.cleaned_data[f] for f in form.changed_data if f in PROFILE_FIELDS}
        if not fields:
            return
        try:
            customer_update(customer=obj, **fields)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("merged_into")
            .prefetch_related("identities")
            .annotate(_conversations=Count("conversations", distinct=True))
        )

    @admin.display(description=gettext_lazy("identities"))
    def identity_list(self, obj: Customer) -> str:
        return ", ".join(f"{i.get_kind_display()}: {i.address}" for i in obj.identities.all())

    @admin.display(description=gettext_lazy("conversations"), ordering="_conversations")
    def conversation_count(self, obj: Customer) -> int:
        return obj._conversations

    @admin.action(
        permissions=["change"], description=gettext_lazy("Merge the two selected customers…")
    )
    def merge_into(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        pair = queryset.order_by("pk")
        if pair.count() != 2:
            self.message_user(request, _("Select exactly two customers to merge."), messages.ERROR)
            return None
        form, page = intermediate_form(
            modeladmin=self,
            request=request,
            queryset=pair,
            form_class=MergeForm,
            form_kwargs={"customers": Customer.objects.filter(pk__in=pair.values("pk"))},
            action="merge_into",
            title=_("Merge customers"),
            intro=_("Choose which customer to keep. Nothing of the other one's history is lost."),
            submit_label=_("Merge"),
        )
        if form is None:
            return page
        target = form.cleaned_data["target"]
        source = next(c for c in pair if c.pk != target.pk)
        try:
            customer_merge(source=source, target=target)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return None
        self.message_user(
            request,
            _("%(source)s was merged into %(target)s.") % {"source": source, "target": target},
            messages.SUCCESS,
        )
        return None


@admin.register(ContactIdentity)
class ContactIdentityAdmin(admin.ModelAdmin):
    list_display = ["address", "kind", "verified", "customer", "created_at"]
    list_filter = ["kind", "verified"]
    search_fields = ["address", "customer__name"]
    list_select_related = ["customer"]
    readonly_fields = ["customer", "kind", "address", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # identities come from channels or the merge; see the module docstring


@admin.register(ChannelOptOut)
class ChannelOptOutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Opt-outs are recorded by the channel (STOP keywords) and lifted by the customer."""

    list_display = ["customer", "channel", "opted_out_at", "reason"]
    list_filter = ["channel"]
    search_fields = ["customer__name", "customer__identities__address"]
    list_select_related = ["customer", "channel"]
