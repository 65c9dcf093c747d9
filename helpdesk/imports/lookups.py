"""Names in an import file resolved to rows: channels, agents, teams and labels.

Loaded in one query per kind and chunk for the names not seen before, then cached for the
run (a file names a few channels, agents, teams and labels, many times over). Labels the file
names and Relay lacks are created with the chunk; `commit()` / `rollback()` keep the cache in
step with the chunk's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from helpdesk.agents.models import Team
from helpdesk.conversations.models import Label
from helpdesk.imports.records import (
    ConversationRecord,
    LabelName,
    MessageRecord,
    Record,
    RecordError,
)
from helpdesk.inboxes.models import Channel

_AMBIGUOUS = -1


class Lookups:
    def __init__(self, *, default_channel: Channel | None, dry_run: bool) -> None:
        self.default_channel = default_channel
        self.dry_run = dry_run
        self._channels: dict[str, Channel | None] = {}
        self._users: dict[str, int | None] = {}
        self._teams: dict[str, int | None] = {}
        self._labels: dict[str, int] = {}
        self._new_labels: dict[str, int] = {}  # created in the open chunk
        self.labels_created = 0

    def prepare(self, records: Iterable[Record]) -> None:
        """Load what the chunk's records name and the cache lacks (one query per kind); create
        the labels Relay lacks (not in a dry run)."""
        channels: set[str] = set()
        users: set[str] = set()
        teams: set[str] = set()
        labels: dict[str, LabelName] = {}
        for record in records:
            if isinstance(record, ConversationRecord):
                channels.add(record.channel)
                users.add(record.assignee)
                teams.add(record.team)
                labels.update((label.name, label) for label in record.labels)
            elif isinstance(record, MessageRecord):
                users.add(record.sender)
        self._load_channels(channels - self._channels.keys() - {""})
        self._load_users(users - self._users.keys() - {""})
        self._load_teams(teams - self._teams.keys() - {""})
        self._load_labels([labels[name] for name in labels.keys() - self._labels.keys()])

    def commit(self) -> None:
        self.labels_created += len(self._new_labels)
        self._labels.update(self._new_labels)
        self._new_labels.clear()

    def rollback(self) -> None:
        for name in self._new_labels:
            self._labels.pop(name, None)
        self._new_labels.clear()

    def channel(self, identifier: str) -> Channel:
        if not identifier:
            if self.default_channel is None:
                raise RecordError(
                    _('The conversation names no "channel" and the import has no --channel.')
                )
            return self.default_channel
        channel = self._channels.get(identifier)
        if channel is None:
            raise RecordError(
                _('There is no channel with id or public id "%(channel)s".')
                % {"channel": identifier}
            )
        return channel

    def user(self, name: str, *, field: str) -> int | None:
        if not name:
            return None
        user_id = self._users.get(name)
        if user_id == _AMBIGUOUS:
            raise RecordError(
                _('"%(field)s": several users have the email address of "%(name)s"; use the '
                  "username.") % {"field": field, "name": name}
            )
        if user_id is None:
            raise RecordError(
                _('"%(field)s": there is no user with the username or email "%(name)s"; create '
                  "it (it may be inactive) or leave the field out.")
                % {"field": field, "name": name}
            )
        return user_id

    def team(self, name: str) -> int | None:
        if not name:
            return None
        team_id = self._teams.get(name)
        if team_id is None:
            raise RecordError(_('There is no team named "%(team)s".') % {"team": name})
        return team_id

    def label_ids(self, labels: Iterable[LabelName]) -> list[int]:
        """Ids of these labels (in a dry run, of those that exist already)."""
        return sorted({self._labels[x.name] for x in labels if self._labels.get(x.name)})

    def _load_channels(self, identifiers: set[str]) -> None:
        if not identifiers:
            return
        pks = {i for i in identifiers if i.isdigit()}
        public_ids = {}
        for identifier in identifiers - pks:
            try:
                public_ids[str(uuid.UUID(identifier))] = identifier
            except ValueError:
                self._channels[identifier] = None
        found = Channel.objects.filter(
            Q(pk__in=[int(pk) for pk in pks]) | Q(public_id__in=list(public_ids))
        )
        for channel in found:
            if str(channel.pk) in pks:
                self._channels[str(channel.pk)] = channel
            if str(channel.public_id) in public_ids:
                self._channels[public_ids[str(channel.public_id)]] = channel
        for identifier in identifiers:
            self._channels.setdefault(identifier, None)

    def _load_users(self, names: set[str]) -> None:
        if not names:
            return
        user_model = get_user_model()
        field = user_model.USERNAME_FIELD
        rows = (
            user_model._default_manager.annotate(email_lower=Lower("email"))
            .filter(Q(**{f"{field}__in": names}) | Q(email_lower__in={n.lower() for n in names}))
            .values_list("pk", field, "email_lower")
        )
        by_username: dict[str, int] = {}
        by_email: dict[str, set[int]] = {}
        for pk, username, email in rows:
            by_username[username] = pk
            by_email.setdefault(email or "", set()).add(pk)
        for name in names:
            matches = by_email.get(name.lower(), set())
            if name in by_username:
                self._users[name] = by_username[name]
            elif len(matches) == 1:
                self._users[name] = next(iter(matches))
            else:
                self._users[name] = _AMBIGUOUS if matches else None

    def _load_teams(self, names: set[str]) -> None:
        if not names:
            return
        found = dict(Team.objects.filter(name__in=names).values_list("name", "pk"))
        for name in names:
            self._teams[name] = found.get(name)

    def _load_labels(self, labels: list[LabelName]) -> None:
        if not labels:
            return
        names = [label.name for label in labels]
        self._labels.update(Label.objects.filter(name__in=names).values_list("name", "pk"))
        missing = [label for label in labels if label.name not in self._labels]
        if not missing:
            return
        if self.dry_run:
            self.labels_created += len(missing)
            for label in missing:  # counted once
                self._labels[label.name] = 0
            return
        Label.objects.bulk_create(
            [Label(name=label.name, title=label.title) for label in missing],
            ignore_conflicts=True,  # another writer created it meanwhile: use theirs
        )
        made = dict(
            Label.objects.filter(name__in=[label.name for label in missing]).values_list(
                "name", "pk"
            )
        )
        self._new_labels.update(made)
        self._labels.update(made)
