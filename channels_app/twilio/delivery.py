"""Outbound delivery through Twilio: claim, send once, put right what we could not see.

Guarantees:
- **Once.** Before calling Twilio a job claims the message by creating its `OutboundAttempt`
  (one per message, unique). A second job, a duplicate enqueue or a restarted worker finds the
  claim and sends nothing.
- **In order.** A reply waits while an earlier reply of its conversation is unsent
  (`channels_app.twilio.ordering`).
- **Paced per sender.** The per-sender rate (`ratelimit`) is shared by all processes; a short
  wait (up to `rate_wait_inline_seconds`) is slept in the worker, so it costs what the limiter
  asks; a longer one goes through a django-q schedule (which runs about every 30 s).
- **Retries only when safe.** HTTP 429 / error 20429 and failures to connect (the request never
  left) are retried with backoff through a django-q schedule.
- **No blind retry after an unknown outcome.** A timeout after the request was sent, a dropped
  connection or a 5xx may or may not have created the message at Twilio, and so may a worker
  killed mid-send (SIGKILL, the job timeout). The Messages API has no idempotency key, so
  nothing is sent again at once: the claim stays open and the message `pending`. Once the claim
  is older than the stale age (past the job timeout, so its job is certainly dead) the sweeper
  hands it to `reconcile`, which asks Twilio's Messages list whether the message exists: found
  -> its SID is linked as a send that succeeded; not found -> sent again under a fresh claim;
  undecidable -> failed visibly with `interrupted`. Each send names our message in its
  StatusCallback URL, so a status callback that comes first links the SID (`status.py`).
  `reconcile`'s docstring states what "exactly once" rests on.
- **Recorded atomically.** The attempt's outcome and the message's status change in one
  transaction; a crash leaves the claim open for reconciliation, never a half-recorded send.
- **Permanent errors** (21610, 21211, 63016, …) fail the message with the code and a readable
  reason; 21610 also records the customer's opt-out.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import requests
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import schedule
from twilio.base.exceptions import TwilioRestException
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from channels_app.models import AttemptState, OutboundAttempt
from channels_app.twilio import config, errors, ratelimit
from channels_app.twilio.addressing import message_params
from channels_app.twilio.client import client_for
from channels_app.twilio.optout import customer_opt_out
from channels_app.twilio.ordering import (
    ORDERED,
    RETRY_TASK,
    earlier_reply_unsent,
    release_next_reply,
)
from channels_app.twilio.status import STATUS_MAP, status_events_replay
from helpdesk.conversations.models import DeliveryStatus, Message
from helpdesk.conversations.services import check_reply_allowed, message_update_delivery_status
from helpdesk.core.errors import DomainError

logger = logging.getLogger(__name__)


class _Retry(Exception):
    def __init__(self, code: str, delay: float | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.delay = delay


class _Fail(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(code)
        self.code = code
        self.reason = reason


class _Unknown(Exception):
    """The request may have reached Twilio, but we did not see its answer."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def attempt_claim(*, message_id: int, retry: bool = False) -> OutboundAttempt | None:
    """Claim a pending message for one send. None when another job has it, it is done, or an
    earlier reply of its conversation is unsent (then it is parked until that one leaves).

    First sends create the attempt row (unique per message); retries move it from `waiting`
    back to `claimed`. The message row is locked meanwhile, so claims serialize.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.select_for_update().filter(pk=message_id).first()
            if message is None or message.delivery_status != DeliveryStatus.PENDING:
                return None
            attempt = OutboundAttempt.objects.select_for_update().filter(message=message).first()
            if not retry:
                if attempt is not None:
                    return None
                attempt = OutboundAttempt(message=message, attempts=0)
            elif attempt is None or attempt.state != AttemptState.WAITING:
                return None
            if earlier_reply_unsent(message):
                attempt.state = AttemptState.WAITING
                attempt.last_error = ORDERED
                stale = config.tunables().stale_after_seconds
                attempt.next_attempt_at = now + timedelta(seconds=stale)
                attempt.save()
                return None
            attempt.state = AttemptState.CLAIMED
            attempt.attempts += 1
            attempt.claimed_at = now
            attempt.next_attempt_at = None
            attempt.save()
            return attempt
    except IntegrityError:  # a concurrent first send created the row
        return None


def deliver(message: Message, *, retry: bool = False) -> None:
    """Send one outbound message through Twilio, at most once (see the module docstring)."""
    attempt = attempt_claim(message_id=message.pk, retry=retry)
    if attempt is None:
        return
    send_claimed(attempt)


def send_claimed(attempt: OutboundAttempt) -> None:
    """POST the message of a claim this job holds, once, and record what Twilio answered."""
    message = Message.objects.select_related("channel", "conversation__channel").get(
        pk=attempt.message_id
    )
    try:
        sid, twilio_status = _send(message)
    except _Retry as retry_exc:
        _schedule_retry(attempt, retry_exc)
    except _Fail as fail:
        attempt_record_failure(attempt=attempt, code=fail.code, reason=fail.reason)
    except _Unknown as unknown:
        attempt_record_unknown(attempt=attempt, code=unknown.code)
    else:
        attempt_record_sent(attempt=attempt, sid=sid, twilio_status=twilio_status)


@transaction.atomic
def attempt_record_sent(
    *, attempt: OutboundAttempt, sid: str, twilio_status: str, error_code: str = ""
) -> None:
    """Twilio created the message: close the claim, store the SID and status (with Twilio's
    error code, if it already failed), apply callbacks that beat us, release the next reply.
    One transaction."""
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("channel")
        .get(pk=attempt.message_id)
    )
    _finish(attempt, AttemptState.DONE, sid=sid)
    code = error_code or ("canceled" if twilio_status == "canceled" else "")
    message_update_delivery_status(
        message_id=message.pk,
        status=STATUS_MAP.get(twilio_status, "queued"),
        external_id=sid,
        error_code=code,
        error_message=errors.reason_for(code) if code else "",
        replaces_failures=errors.PROVISIONAL_FAILURE_CODES,
    )
    status_events_replay(channel=message.channel, message_id=message.pk, message_sid=sid)
    release_next_reply(conversation_id=message.conversation_id)


@transaction.atomic
def attempt_record_failure(*, attempt: OutboundAttempt, code: str, reason: str) -> None:
    """The send failed for good (or its outcome is unknown): close the claim and fail the
    message, in one transaction. A provisional failure (`ambiguous`) yields to a status
    callback that already linked the real SID."""
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("channel", "conversation")
        .get(pk=attempt.message_id)
    )
    if code in errors.PROVISIONAL_FAILURE_CODES and message.external_id:
        _finish(attempt, AttemptState.DONE, sid=message.external_id)
        return
    _finish(attempt, AttemptState.FAILED, error=code)
    if code == str(errors.OPT_OUT_CODE):
        customer_opt_out(
            customer_id=message.conversation.customer_id,
            channel=message.channel,
            reason="Twilio error 21610",
        )
    message_update_delivery_status(
        message_id=message.pk, status=DeliveryStatus.FAILED, error_code=code, error_message=reason
    )
    release_next_reply(conversation_id=message.conversation_id)


def attempt_record_unknown(*, attempt: OutboundAttempt, code: str) -> None:
    """Twilio may or may not have the message: keep the claim open (the message stays
    `pending`, later replies stay parked) for reconciliation once it is stale. A status
    callback that names the message links it before that (then this changes nothing)."""
    OutboundAttempt.objects.filter(pk=attempt.pk, state=AttemptState.CLAIMED).update(
        last_error=code, updated_at=timezone.now()
    )
    logger.warning(
        "twilio send for message %s has an unknown outcome (%s); reconciled once stale",
        attempt.message_id,
        code,
    )


def _send(message: Message) -> tuple[str, str]:
    channel = message.channel
    template = (message.content_attributes or {}).get("template")
    try:
        # The window or an opt-out may have closed since the reply was written.
        check_reply_allowed(
            conversation=message.conversation, text=message.text, is_template=bool(template)
        )
    except DomainError as exc:
        raise _Fail(exc.code, exc.message) from exc
    if not (config.account_sid(channel) and config.auth_token(channel)) or not (
        config.sender(channel) or config.messaging_service_sid(channel)
    ):
        raise _Fail("not_configured", errors.reason_for("not_configured"))
    params = message_params(message)
    if not params["to"]:
        raise _Fail("no_recipient", errors.reason_for("no_recipient"))
    _take_send_slot(message)
    try:
        created = client_for(channel).messages.create(**params)
    except TwilioRestException as exc:
        if exc.status == 429 or exc.code in errors.RATE_LIMITED_CODES:
            raise _Retry(str(exc.code or 20429)) from exc
        if exc.status >= 500:
            raise _Unknown("ambiguous") from exc
        code = str(exc.code or exc.status)
        raise _Fail(code, errors.reason_for(code, fallback=str(exc.msg)[:300])) from exc
    except requests.RequestException as exc:
        if _never_reached(exc):
            raise _Retry("connection") from exc
        raise _Unknown("ambiguous") from exc
    return created.sid, (created.status or "queued")


def _take_send_slot(message: Message) -> None:
    """Wait for the sender's next slot: in the worker while the waits add up to at most
    `rate_wait_inline_seconds`, else raise `_Retry` with the limiter's delay."""
    channel = message.channel
    budget = config.tunables().rate_wait_inline_seconds
    waited = 0.0
    while wait := ratelimit.acquire(config.sender_key(channel), rate=config.send_rate(channel)):
        if waited + wait > budget:
            raise _Retry("rate_limited", delay=wait)
        time.sleep(wait)
        waited += wait


def _never_reached(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach Twilio (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def _finish(attempt: OutboundAttempt, state: str, *, sid: str = "", error: str = "") -> None:
    attempt.state = state
    attempt.provider_sid = sid
    attempt.last_error = error[:300]
    attempt.save(update_fields=["state", "provider_sid", "last_error", "updated_at"])


def _schedule_retry(attempt: OutboundAttempt, retry: _Retry) -> None:
    delays = config.tunables().retry_delays
    counted = retry.code != "rate_limited"  # our own rate limit is not a failed try
    if counted and attempt.attempts > len(delays):
        code = "20429" if retry.code in ("20429", "14107") else retry.code
        attempt_record_failure(attempt=attempt, code=code, reason=errors.reason_for(code))
        return
    if retry.delay is not None:
        delay = retry.delay
    else:
        delay = delays[min(attempt.attempts, len(delays)) - 1]
    if not counted:
        attempt.attempts -= 1
    run_at = timezone.now() + timedelta(seconds=delay)
    attempt.state = AttemptState.WAITING
    attempt.next_attempt_at = run_at
    attempt.last_error = retry.code
    with transaction.atomic():
        attempt.save(
            update_fields=["state", "attempts", "next_attempt_at", "last_error", "updated_at"]
        )
        schedule(
            RETRY_TASK,
            attempt.message_id,
            schedule_type=Schedule.ONCE,
            next_run=run_at,
            repeats=-1,
        )
    logger.info(
        "twilio send for message %s retries in %.2fs (%s)", attempt.message_id, delay, retry.code
    )
