"""Fallback contacts: the notification outbox and the notifiers that deliver it.

A notification is a database row written in the same transaction as the escalation step that
caused it, so it survives a crash; the outbox worker delivers it and retries (backing off to
once a minute) while the receiver is down. Webhooks carry an Idempotency-Key header: if the
server dies after the receiver said yes but before the delivery was recorded, the one resend
can be recognised.
"""

import asyncio
import json
import logging
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from vigil.lib import clock
from vigil.lib.dbthread import keep_connection
from vigil.monitoring.models import Notification, NotificationStatus

log = logging.getLogger("vigil.notify")

POLL_SECONDS = 1.0
MAX_BACKOFF = timedelta(seconds=60)
WEBHOOK_TIMEOUT = 5.0


class DeliveryFailed(Exception):
    pass


def deliver_log(notification: Notification) -> None:
    log.warning(
        "ESCALATION to %s: %s", notification.contact, notification.payload.get("message", "")
    )


def deliver_webhook(notification: Notification) -> None:
    if not notification.target.startswith(("http://", "https://")):
        raise DeliveryFailed(f"not an http(s) address: {notification.target!r}")
    body = json.dumps({**notification.payload, "contact": notification.contact}).encode()
    request = urllib.request.Request(  # noqa: S310 - the site's own configured gateway
        notification.target,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": notification.idempotency_key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise DeliveryFailed(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(str(getattr(exc, "reason", exc))) from exc


NOTIFIERS = {"log": deliver_log, "webhook": deliver_webhook}


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(attempts, 10)), MAX_BACKOFF)


def deliver_due(now: datetime) -> int:
    """Try every notification that is due; returns how many were delivered."""
    keep_connection()
    delivered = 0
    due = Notification.objects.filter(
        status=NotificationStatus.PENDING, next_attempt_at__lte=now
    ).order_by("pk")[:50]
    for notification in due:
        deliver = NOTIFIERS.get(notification.notifier)
        notification.attempts += 1
        try:
            if deliver is None:
                raise DeliveryFailed(f"no notifier called {notification.notifier!r}")
            deliver(notification)
        except DeliveryFailed as exc:
            notification.last_error = str(exc)[:300]
            notification.next_attempt_at = clock.now() + backoff(notification.attempts)
            notification.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            log.warning(
                "escalation to %s not delivered (attempt %d): %s",
                notification.contact,
                notification.attempts,
                exc,
            )
            continue
        notification.status = NotificationStatus.DELIVERED
        notification.delivered_at = clock.now()
        notification.save(update_fields=["attempts", "status", "delivered_at"])
        delivered += 1
    return delivered


async def run_outbox() -> None:
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-notify")
    try:
        while True:
            try:
                await loop.run_in_executor(executor, deliver_due, clock.now())
            except Exception:
                log.exception("notification outbox failed; carrying on")
            await asyncio.sleep(POLL_SECONDS)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
