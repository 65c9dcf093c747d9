"""Admin for agents: the agent profile inline on Django's user, teams with their members."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from helpdesk.agents.models import AgentProfile, Team
from helpdesk.sla.admin_hooks import DeletionReevaluatesSLAMixin

User = get_user_model()


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    can_delete = True
    extra = 0
    max_num = 1
    fields = ["display_name", "language", "max_concurrent_conversations", "availability"]
    verbose_name_plural = gettext_lazy("agent profile (needed to use the console)")


def _profile_value(obj: object, attr: str) -> str:
    profile = getattr(obj, "agent_profile", None)
    if profile is None:
        return "—"
    return str(getattr(profile, f"get_{attr}_display", lambda: getattr(profile, attr))())


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [AgentProfileInline]
    list_display = [
        "username",
        "display_name",
        "email",
        "language",
        "availability",
        "is_staff",
        "is_active",
    ]
    list_filter = [
        "is_staff",
        "is_superuser",
        "is_active",
        "agent_profile__availability",
        "agent_profile__language",
        "teams",
    ]
    search_fields = ["username", "email", "first_name", "last_name", "agent_profile__display_name"]
    list_select_related = ["agent_profile"]

    @admin.display(description=gettext_lazy("display name"), ordering="agent_profile__display_name")
    def display_name(self, obj: object) -> str:
        return _profile_value(obj, "display_name")

    @admin.display(description=gettext_lazy("language"))
    def language(self, obj: object) -> str:
        return _profile_value(obj, "language")

    @admin.display(description=gettext_lazy("availability"))
    def availability(self, obj: object) -> str:
        return _profile_value(obj, "availability")


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "user",
        "language",
        "availability",
        "max_concurrent_conversations",
        "open_conversations",
        "last_seen_at",
    ]
    list_filter = ["availability", "language"]
    search_fields = ["display_name", "user__username", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["last_seen_at"]
    raw_id_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _open=Count(
                    "user__assigned_conversations",
                    filter=~Q(user__assigned_conversations__status="resolved"),
                )
            )
        )

    @admin.display(description=gettext_lazy("unresolved conversations"), ordering="_open")
    def open_conversations(self, obj: AgentProfile) -> int:
        return obj._open


@admin.register(Team)
class TeamAdmin(DeletionReevaluatesSLAMixin, admin.ModelAdmin):
    sla_rule_field = "teams"
    list_display = ["name", "member_count", "member_names", "description", "created_at"]
    search_fields = ["name", "description", "members__username"]
    filter_horizontal = ["members"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(_members=Count("members", distinct=True))
            .prefetch_related("members__agent_profile")
        )

    @admin.display(description=gettext_lazy("members"), ordering="_members")
    def member_count(self, obj: Team) -> int:
        return obj._members

    @admin.display(description=gettext_lazy("who"))
    def member_names(self, obj: Team) -> str:
        names = [
            u.agent_profile.display_name if hasattr(u, "agent_profile") else u.get_username()
            for u in obj.members.all()
        ]
        return ", ".join(sorted(names))
