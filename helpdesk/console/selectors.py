"""Console reads. Every read of conversations starts from `visible_conversations(user)`, so
when roles gain team scoping only `visible_channel_ids` changes. Query counts are constant:
an inbox page costs a count, the rows and one label prefetch whatever the page size; a search
adds two queries that plan it on PostgreSQL (none on SQLite) and counts at most COUNT_CAP + 1
conversations, however many match."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from helpdesk.console.search import COUNT_CAP, InboxSearch, inbox_search
from helpdesk.conversations.models import (
    Conversation,
    ConversationStatus,
    Label,
    Message,
    MessageKind,
)
from helpdesk.inboxes.models import Channel
from helpdesk.sla.display import SLA_DUE_SOONEST_ORDER

VIEWS = ("mine", "unassigned", "all")
SORTS = ("newest", "waiting", "due")
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
THREAD_LIMIT = 300
PREVIEW_CHARS = 140


def visible_channel_ids(user: AbstractBaseUser) -> list[int]:
    """Channels whose conversations `user` may see. Today: every active channel, for every
    agent. The one place to add team scoping later (the websocket consumer uses it too)."""
    if not user.is_authenticated or not hasattr(user, "agent_profile"):
        return []
    return list(Channel.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))


def visible_conversations(user: AbstractBaseUser) -> QuerySet[Conversation]:
    return Conversation.objects.filter(channel_id__in=visible_channel_ids(user))


@dataclass(frozen=True)
class InboxFilters:
    view: str = "all"
    team_id: int | None = None
    channel_id: int | None = None
    status: str | None = "open"  # None: any status
    label: str | None = None
    sort: str = "newest"
    query: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _with_read_state(qs: QuerySet[Conversation], user: AbstractBaseUser) -> QuerySet[Conversation]:
    """Annotate `latest_inbound_id` (kept on the row by the inbound service) and `read_up_to`
    (this agent's read mark, a LEFT JOIN rather than a subquery per row)."""
    return qs.annotate(
        my_read=FilteredRelation("reads", condition=Q(reads__user_id=user.pk)),
    ).annotate(
        latest_inbound_id=F("last_inbound_message_id"),
        read_up_to=Coalesce(F("my_read__last_read_message_id"), Value(0)),
    )


def _unread_q() -> Q:
    return Q(latest_inbound_id__gt=F("read_up_to"))


def _filtered(user: AbstractBaseUser, filters: InboxFilters) -> QuerySet[Conversation]:
    """The conversations of the view and filters, before search, annotations and order."""
    qs = visible_conversations(user)
    if filters.view == "mine":
        qs = qs.filter(assignee_id=user.pk)
    elif filters.view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if filters.team_id:
        qs = qs.filter(team_id=filters.team_id)
    if filters.channel_id:
        qs = qs.filter(channel_id=filters.channel_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.label:
        qs = qs.filter(labels__name=filters.label)
    return qs


def _listed(
    qs: QuerySet[Conversation], user: AbstractBaseUser, filters: InboxFilters
) -> QuerySet[Conversation]:
    """`qs` with what a list row shows (read state, preview, relations) in the chosen order."""
    last_public = Message.objects.filter(
        conversation=OuterRef("pk"), kind=MessageKind.MESSAGE
    ).order_by("-id")
    qs = _with_read_state(qs, user).annotate(
        preview=Subquery(last_public.values("text")[:1]),
        preview_direction=Subquery(last_public.values("direction")[:1]),
    )
    qs = qs.select_related("customer", "channel", "team", "assignee__agent_profile")
    qs = qs.prefetch_related(Prefetch("labels", queryset=Label.objects.order_by("name")))
    if filters.sort == "waiting":
        return qs.order_by(F("waiting_since").asc(nulls_last=True), "pk")
    if filters.sort == "due":
        return qs.order_by(*SLA_DUE_SOONEST_ORDER)
    return qs.order_by("-last_activity_at", "-pk")


def inbox_queryset(
    user: AbstractBaseUser, filters: InboxFilters, *, search: InboxSearch | None = None
) -> QuerySet[Conversation]:
    """The inbox rows for `filters`, searched by `search` (planned from `filters.query` when
    not given)."""
    if search is None and filters.query:
        search = inbox_search(filters.query)
    qs = _filtered(user, filters)
    if search is not None:
        qs = search.narrow(qs)
    return _listed(qs, user, filters)


class InboxPaginator(Paginator):
    """A paginator whose count may come from elsewhere: a search counts at most COUNT_CAP + 1
    matches, and past COUNT_CAP the console pages through the first COUNT_CAP and says there
    are more (`capped`)."""

    def __init__(
        self,
        object_list: QuerySet[Conversation],
        per_page: int,
        *,
        counter: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self._counter = counter

    @cached_property
    def _counted(self) -> int:
        return self._counter() if self._counter else self.object_list.count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, COUNT_CAP) if self._counter else self._counted

    @cached_property
    def capped(self) -> bool:
        return self._counter is not None and self._counted > COUNT_CAP

    @property
    def cap(self) -> int:
        return COUNT_CAP


def inbox_page(
    user: AbstractBaseUser,
    filters: InboxFilters,
    *,
    page: int | str = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page:
    """One page of the inbox: 3 queries (count, rows, labels) whatever the page size; a search
    adds its plan (two queries on PostgreSQL) and counts up to COUNT_CAP + 1 matches."""
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    search = inbox_search(filters.query) if filters.query else None
    base = _filtered(user, filters)
    if search is None:
        paginator = InboxPaginator(_listed(base, user, filters), page_size)
    else:
        paginator = InboxPaginator(
            _listed(search.narrow(base), user, filters),
            page_size,
            counter=lambda: search.count(base),
        )
    result = paginator.get_page(page)
    _decorate(result.object_list)
    return result


def _decorate(conversations: Sequence[Conversation]) -> None:
    for conversation in conversations:
        conversation.is_unread = conversation.latest_inbound_id > conversation.read_up_to
        conversation.awaiting_reply = conversation.waiting_since is not None
        text = conversation.preview or ""
        conversation.preview = text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")


def nav_counts(user: AbstractBaseUser) -> dict[str, int]:
    """Unread counts for the navigation, in one query: open conversations with a customer
    message the agent has not read, per view."""
    qs = _with_read_state(visible_conversations(user).filter(status=ConversationStatus.OPEN), user)
    unread = _unread_q()
    return qs.aggregate(
        mine=Count("pk", filter=unread & Q(assignee_id=user.pk)),
        unassigned=Count("pk", filter=unread & Q(assignee__isnull=True)),
        all=Count("pk", filter=unread),
    )


def nav_breakdown(user: AbstractBaseUser) -> dict[str, dict[int | str, int]]:
    """Unread open conversations per team, channel and label (3 grouped queries), for the
    navigation's team, channel and label views."""
    qs = _with_read_state(visible_conversations(user).filter(status=ConversationStatus.OPEN), user)
    unread = Count("pk", filter=_unread_q())

    def grouped(key: str) -> dict[int | str, int]:
        rows = qs.filter(**{f"{key}__isnull": False}).values(key).annotate(n=unread).order_by()
        return {row[key]: row["n"] for row in rows}

    return {
        "teams": grouped("team_id"),
        "channels": grouped("channel_id"),
        "labels": grouped("labels__name"),
    }


def conversation_for_agent(user: AbstractBaseUser, conversation_id: int) -> Conversation:
    """The conversation with everything the header and controls show (one query); raises
    Conversation.DoesNotExist when missing or not visible."""
    return (
        visible_conversations(user)
        .select_related("customer", "channel", "team", "assignee__agent_profile", "sla_policy")
        .prefetch_related(Prefetch("labels", queryset=Label.objects.order_by("name")))
        .get(pk=conversation_id)
    )


def thread_messages(conversation: Conversation, *, limit: int = THREAD_LIMIT) -> list[Message]:
    """The newest `limit` messages in chronological order, with authors and attachments
    (2 queries)."""
    rows = list(
        Message.objects.filter(conversation=conversation)
        .select_related("sender_user__agent_profile")
        .prefetch_related("attachments")
        .order_by("-id")[:limit]
    )
    rows.reverse()
    return rows


def customer_history(
    user: AbstractBaseUser, conversation: Conversation, *, limit: int = 50
) -> list[Conversation]:
    """Every conversation of this customer on every channel the agent may see, newest first."""
    return list(
        visible_conversations(user)
        .filter(customer_id=conversation.customer_id)
        .select_related("channel")
        .order_by("-last_activity_at", "-pk")[:limit]
    )


def filter_options() -> dict[str, list[Any]]:
    """Teams, channels and labels for the filter bar (3 queries)."""
    from helpdesk.agents.models import Team

    return {
        "teams": list(Team.objects.order_by("name").only("pk", "name")),
        "channels": list(
            Channel.objects.filter(is_active=True).order_by("name").only("pk", "name", "kind")
        ),
        "labels": list(Label.objects.order_by("name")),
    }


def assignable_agents() -> list[Any]:
    from django.contrib.auth import get_user_model

    return list(
        get_user_model()
        .objects.filter(is_active=True, agent_profile__isnull=False)
        .select_related("agent_profile")
        .order_by("agent_profile__display_name")
    )
