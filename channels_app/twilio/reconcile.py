"""Putting right a send whose outcome we never saw, by asking Twilio what it has.

A send claim stays open when its job died mid-send (SIGKILL, the job timeout, a crash while
recording) or when Twilio's answer was unknown (a read timeout, a dropped connection, a 5xx).
The sweeper hands every open claim older than the stale age to `reconcile_delivery`:

1. **Take over** (`attempt_take_over`). In one transaction, under the message row lock, an open
   claim older than the stale age gets a fresh `claimed_at` and one more `reconciliations`: a
   lease. One job wins; a duplicate job, a second sweeper or a redelivered job finds a fresh
   claim and does nothing. The stale age is past the job timeout (settings refuse less than
   Q_TIMEOUT + 5 s: django-q2 kills a job 3 s after its timeout), so the job that held the
   claim is dead and can no longer send. The lease is held the same way: if this job dies, its
   claim goes stale in turn and is taken over again.
2. **Look up** (`sent_copy_lookup`). List the Messages Twilio has for the reply's recipient
   (`To`) and our sender (`From`; for a messaging service, its SID is matched instead), and
   keep those created since the reply was written (less a margin for clock skew) that went
   out, carry the reply's body (whitespace aside; a template's rendered body is not compared)
   and whose SID is not already stored on another of our messages.
3. **Decide**, each outcome recorded in one transaction that first re-checks the lease:
   - found -> linked as a send that succeeded: the SID and Twilio's status (and error code)
     stored, logged status callbacks replayed, the next reply released;
   - not found -> sent again under the lease (`delivery.send_claimed`), its answer handled like
     any send's; a re-send whose outcome is unknown is reconciled in turn, and that lookup sees
     both sends because its window starts when the reply was written;
   - undecidable -> failed as `interrupted` for an agent, never sent again: another message
     from us to that address that we cannot account for, a customer who wrote from another
     address since the reply was written, more history than `MAX_PAGES` pages. A status
     callback that arrives later still replaces the failure with Twilio's status;
   - the lookup failed (Twilio unreachable, 429, 5xx) -> the lease is left to go stale and the
     next sweep tries again.
   A claim taken over more than `MAX_RECONCILIATIONS` times (lookups that keep failing, sends
   that keep ending unknown, jobs that keep dying) fails as `interrupted` instead.

What "exactly once" rests on: a reply is sent again only when Twilio's list, read at least the
stale age after the claim, shows no message of it. Twilio's Messages API has no idempotency
key, so a message Twilio accepted but did not list by then would be sent a second time. The
lookup does not filter on `DateSent`: a message still queued at Twilio has no `date_sent` yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from django.db import transaction
from django.utils import timezone
from twilio.base.exceptions import TwilioException
from twilio.base.page import Page

from channels_app.models import AttemptState, OutboundAttempt
from channels_app.twilio import config, errors
from channels_app.twilio.addressing import FROM_ATTRIBUTE, message_params, recipient
from channels_app.twilio.client import client_for
from channels_app.twilio.delivery import (
    attempt_record_failure,
    attempt_record_sent,
    send_claimed,
)
from helpdesk.conversations.models import DeliveryStatus, Message, MessageDirection

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000  # Twilio's largest page
MAX_PAGES = 3  # more history than this between one sender and one customer: undecidable
CLOCK_MARGIN = timedelta(minutes=5)  # our clock against Twilio's `date_created`
MAX_RECONCILIATIONS = 5
RECONCILING = "reconciling"  # `last_error` of a claim whose lookup is under way
LOOKUP_FAILED = "lookup_failed"

FOUND, ABSENT, UNSURE = "found", "absent", "unsure"


@dataclass(frozen=True)
class Lookup:
    """What Twilio's list says about one reply."""

    outcome: str  # FOUND, ABSENT or UNSURE
    sid: str = ""
    status: str = ""
    error_code: str = ""
    why: str = ""


def reconcile_delivery(*, message_id: int) -> str:
    """Settle a stale claim of `message_id` (see the module docstring). Returns what happened:
    `linked`, `resent`, `unsure`, `retry` (the lookup failed), `skipped` (no stale claim) or
    `lost` (another job settled it meanwhile). Safe to run twice or concurrently."""
    attempt = attempt_take_over(message_id=message_id)
    if attempt is None:
        return "skipped"
    if attempt.reconciliations > MAX_RECONCILIATIONS:
        with transaction.atomic():
            if not _lease_held(attempt):
                return "lost"
            _give_up(attempt, why="too many reconciliations")
        return "unsure"
    message = Message.objects.select_related("channel", "conversation__channel").get(pk=message_id)
    try:
        lookup = sent_copy_lookup(message)
    except (TwilioException, requests.RequestException) as exc:
        return _lookup_failed(attempt, exc)
    with transaction.atomic():
        if not _lease_held(attempt):
            return "lost"
        if lookup.outcome == FOUND:
            attempt_record_sent(
                attempt=attempt,
                sid=lookup.sid,
                twilio_status=lookup.status,
                error_code=lookup.error_code,
            )
            logger.warning("twilio reconcile: message %s was sent, linked its SID", message_id)
            return "linked"
        if lookup.outcome == UNSURE:
            _give_up(attempt, why=lookup.why)
            return "unsure"
        attempt.attempts += 1
        attempt.last_error = ""
        attempt.save(update_fields=["attempts", "last_error", "updated_at"])
    logger.warning("twilio reconcile: message %s never reached Twilio, sending it", message_id)
    send_claimed(attempt)
    return "resent"


def attempt_take_over(*, message_id: int) -> OutboundAttempt | None:
    """Lease the open claim of a pending message if it is older than the stale age: a fresh
    `claimed_at`, one more `reconciliations`. None when there is no such claim (not stale,
    settled, or another job just took it). Locks the message row, then the attempt's."""
    now = timezone.now()
    stale = now - timedelta(seconds=config.tunables().stale_after_seconds)
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(pk=message_id, delivery_status=DeliveryStatus.PENDING, external_id=None)
            .first()
        )
        if message is None:
            return None
        attempt = (
            OutboundAttempt.objects.select_for_update()
            .filter(message=message, state=AttemptState.CLAIMED, claimed_at__lt=stale)
            .first()
        )
        if attempt is None:
            return None
        attempt.claimed_at = now
        attempt.reconciliations += 1
        attempt.last_error = RECONCILING
        attempt.save(update_fields=["claimed_at", "reconciliations", "last_error", "updated_at"])
        return attempt


def sent_copy_lookup(message: Message) -> Lookup:
    """Ask Twilio's Messages list whether it has `message` (see the module docstring). Raises
    the library's `TwilioException` or a `requests` error when Twilio cannot be asked."""
    channel = message.channel
    params = message_params(message)
    to = str(params["to"] or "")
    if not to:
        return Lookup(ABSENT)  # no address: no send could have been made, a new one fails
    if _addresses_since(message) != {to}:
        return Lookup(UNSURE, why="the customer's address changed")
    service_sid = config.messaging_service_sid(channel)
    filters: dict[str, Any] = {"to": to}
    if not service_sid:
        filters["from_"] = str(params["from_"])
    since = message.created_at - CLOCK_MARGIN
    page: Page = client_for(channel).messages.page(page_size=PAGE_SIZE, **filters)
    candidates: list[Any] = []
    for number in range(1, MAX_PAGES + 1):
        candidates += [
            record
            for record in page
            if str(record.direction or "").startswith("outbound")
            and record.date_created is not None
            and record.date_created >= since
            and (not service_sid or record.messaging_service_sid == service_sid)
        ]
        if not page.next_page_url:
            break
        following = page.next_page() if number < MAX_PAGES else None
        if following is None:
            return Lookup(UNSURE, why="more history than the lookup reads")
        page = following
    known = set(
        Message.objects.filter(channel=channel, external_id__in=[r.sid for r in candidates])
        .exclude(pk=message.pk)
        .values_list("external_id", flat=True)
    )
    unknown = sorted(
        (r for r in candidates if r.sid not in known), key=lambda r: (r.date_created, r.sid)
    )
    body = params.get("body")
    if body is None:  # a template: Twilio's body is the rendered text, not ours to compare
        if len(unknown) > 1:
            return Lookup(UNSURE, why="several template messages")
        return _found(unknown[0]) if unknown else Lookup(ABSENT)
    same = [r for r in unknown if _same_text(r.body, str(body))]
    if same:
        return _found(same[0])
    if unknown:
        return Lookup(UNSURE, why="a message from us it cannot account for")
    return Lookup(ABSENT)


def _addresses_since(message: Message) -> set[str]:
    """Every address a send of `message` can have gone to: the customer's address when it was
    written and any they wrote from since (the recipient follows the latest)."""
    channel = message.channel
    addresses = {recipient(message, as_of=message.created_at), recipient(message)}
    later = Message.objects.filter(
        channel_id=channel.pk,
        conversation__customer_id=message.conversation.customer_id,
        direction=MessageDirection.INBOUND,
        content_attributes__has_key=FROM_ATTRIBUTE,
        created_at__gt=message.created_at,
    ).values_list("content_attributes", flat=True)
    addresses.update(config.with_prefix(channel, str(attrs[FROM_ATTRIBUTE])) for attrs in later)
    addresses.discard("")  # no address: a send then failed before reaching Twilio
    return addresses


def _same_text(theirs: str | None, ours: str) -> bool:
    return " ".join((theirs or "").split()) == " ".join(ours.split())


def _found(record: Any) -> Lookup:
    return Lookup(
        FOUND,
        sid=record.sid,
        status=str(record.status or "queued"),
        error_code=str(record.error_code or ""),
    )


def _lease_held(attempt: OutboundAttempt) -> bool:
    """True while `attempt` is still the lease this job took (nothing settled it meanwhile,
    e.g. a status callback that linked the SID). Locks the message row, then the attempt's;
    the caller holds a transaction."""
    message_open = (
        Message.objects.select_for_update()
        .filter(pk=attempt.message_id, delivery_status=DeliveryStatus.PENDING, external_id=None)
        .values_list("pk", flat=True)
        .first()
    )
    lease = (
        OutboundAttempt.objects.select_for_update()
        .filter(pk=attempt.pk, state=AttemptState.CLAIMED, reconciliations=attempt.reconciliations)
        .values_list("pk", flat=True)
        .first()
    )
    return message_open is not None and lease is not None


def _give_up(attempt: OutboundAttempt, *, why: str) -> None:
    """Fail the reply visibly, never to be sent again (the caller holds the lease)."""
    attempt_record_failure(
        attempt=attempt, code="interrupted", reason=errors.reason_for("interrupted")
    )
    logger.warning(
        "twilio reconcile: message %s undecidable (%s), failed for an agent",
        attempt.message_id,
        why,
    )


def _lookup_failed(attempt: OutboundAttempt, exc: Exception) -> str:
    with transaction.atomic():
        if not _lease_held(attempt):
            return "lost"
        attempt.last_error = LOOKUP_FAILED
        attempt.save(update_fields=["last_error", "updated_at"])
    logger.warning(
        "twilio reconcile: lookup for message %s failed (%s); tried again once stale",
        attempt.message_id,
        type(exc).__name__,
    )
    return "retry"
