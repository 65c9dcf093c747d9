"""Outbound delivery through Twilio: claim, send once, retry only when nothing was sent.

Guarantees:
- **Once.** Before calling Twilio a job claims the message by creating its `OutboundAttempt`
  (one per message, unique). A second job, a duplicate enqueue or a restarted worker finds the
  claim and sends nothing.
- **Retries only when safe.** HTTP 429 / error 20429 and failures to connect (the request never
  left) are retried with backoff through a django-q schedule; the worker is never held.
- **No blind retry after an ambiguous answer.** A timeout after the request was sent, a dropped
  connection or a 5xx may or may not have created the message at Twilio. The Messages API has no
  idempotency key, and looking the message up by (To, From, Body, time) can match an earlier
  identical reply or miss one Twilio has not listed yet, so neither a retry nor a lookup can
  guarantee "exactly once". We fail the message visibly with code `ambiguous` and a reason; the
  assignee is notified (through `message_update_delivery_status`) and decides whether to send
  again. A claim left behind by a killed worker is treated the same way by the sweeper.
- **Permanent errors** (21610, 21211, 63016, …) fail the message with the code and a readable
  reason; 21610 also records the customer's opt-out.
"""

from __future__ import annotations

import json
import logging
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
from channels_app.twilio.client import client_for
from channels_app.twilio.optout import customer_opt_out
from channels_app.twilio.status import STATUS_MAP, status_events_replay
from helpdesk.conversations.models import DeliveryStatus, Message
from helpdesk.conversations.services import check_reply_allowed, message_update_delivery_status
from helpdesk.core.errors import DomainError
from helpdesk.customers.models import ContactIdentity, IdentityKind

logger = logging.getLogger(__name__)

RETRY_TASK = "channels_app.twilio.tasks.retry_delivery"


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


def attempt_claim(*, message_id: int, retry: bool = False) -> OutboundAttempt | None:
    """Claim a pending message for one send. None when another job has it or it is done.

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
                return OutboundAttempt.objects.create(
                    message=message, state=AttemptState.CLAIMED, attempts=1, claimed_at=now
                )
            if attempt is None or attempt.state != AttemptState.WAITING:
                return None
            attempt.state = AttemptState.CLAIMED
            attempt.attempts += 1
            attempt.claimed_at = now
            attempt.next_attempt_at = None
            attempt.save(
                update_fields=["state", "attempts", "claimed_at", "next_attempt_at", "updated_at"]
            )
            return attempt
    except IntegrityError:  # a concurrent first send created the row
        return None


def deliver(message: Message, *, retry: bool = False) -> None:
    """Send one outbound message through Twilio, at most once (see the module docstring)."""
    attempt = attempt_claim(message_id=message.pk, retry=retry)
    if attempt is None:
        return
    message = Message.objects.select_related("channel", "conversation__channel").get(pk=message.pk)
    try:
        sid, twilio_status = _send(message, attempt)
    except _Retry as retry_exc:
        _schedule_retry(attempt, retry_exc)
    except _Fail as fail:
        _finish(attempt, AttemptState.FAILED, error=fail.code)
        if fail.code == str(errors.OPT_OUT_CODE):
            customer_opt_out(
                customer_id=message.conversation.customer_id,
                channel=message.channel,
                reason="Twilio error 21610",
            )
        message_update_delivery_status(
            message_id=message.pk,
            status=DeliveryStatus.FAILED,
            error_code=fail.code,
            error_message=fail.reason,
        )
    else:
        _finish(attempt, AttemptState.DONE, sid=sid)
        message_update_delivery_status(
            message_id=message.pk, status=STATUS_MAP.get(twilio_status, "queued"), external_id=sid
        )
        status_events_replay(channel=message.channel, message_id=message.pk, message_sid=sid)


def recipient(message: Message) -> str:
    """The customer's number on this channel (WhatsApp id first on WhatsApp, phone on SMS)."""
    order = [IdentityKind.PHONE, IdentityKind.WHATSAPP]
    if config.is_whatsapp(message.channel):
        order.reverse()
    addresses = dict(
        ContactIdentity.objects.filter(
            customer_id=message.conversation.customer_id, kind__in=order
        ).values_list("kind", "address")
    )
    for kind in order:
        if addresses.get(kind):
            return config.with_prefix(message.channel, addresses[kind])
    return ""


def message_params(message: Message) -> dict[str, object]:
    """Keyword arguments for `client.messages.create` (twilio-python names)."""
    channel = message.channel
    params: dict[str, object] = {
        "to": recipient(message),
        "status_callback": config.status_url(channel),
    }
    if config.messaging_service_sid(channel):
        params["messaging_service_sid"] = config.messaging_service_sid(channel)
    else:
        params["from_"] = config.with_prefix(channel, config.sender(channel))
    template = (message.content_attributes or {}).get("template")
    if template:
        params["content_sid"] = template["content_sid"]
        variables = template.get("variables") or {}
        if variables:
            params["content_variables"] = json.dumps({str(k): str(v) for k, v in variables.items()})
    else:
        params["body"] = message.text
    return params


def _send(message: Message, attempt: OutboundAttempt) -> tuple[str, str]:
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
    wait = ratelimit.acquire(config.sender_key(channel), rate=config.send_rate(channel))
    if wait:
        raise _Retry("rate_limited", delay=wait)
    try:
        created = client_for(channel).messages.create(**params)
    except TwilioRestException as exc:
        if exc.status == 429 or exc.code in errors.RATE_LIMITED_CODES:
            raise _Retry(str(exc.code or 20429)) from exc
        if exc.status >= 500:
            raise _Fail("ambiguous", errors.reason_for("ambiguous")) from exc
        code = str(exc.code or exc.status)
        raise _Fail(code, errors.reason_for(code, fallback=str(exc.msg)[:300])) from exc
    except requests.RequestException as exc:
        if _never_reached(exc):
            raise _Retry("connection") from exc
        raise _Fail("ambiguous", errors.reason_for("ambiguous")) from exc
    return created.sid, (created.status or "queued")


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
        _finish(attempt, AttemptState.FAILED, error=code)
        message_update_delivery_status(
            message_id=attempt.message_id,
            status=DeliveryStatus.FAILED,
            error_code=code,
            error_message=errors.reason_for(code),
        )
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
    attempt.save(update_fields=["state", "attempts", "next_attempt_at", "last_error", "updated_at"])
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
