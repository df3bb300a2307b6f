"""Push case notifications (offers, deadlines, escalations …) to WeChat users through the
customer-service message API, and clean up bot turns a dead web worker left unanswered.

The task worker runs `wechat_push_task` every minute once it has imported this module (it
registers itself on `disputes.tasks.huey`); the WeChat endpoint also calls `push_recipient`
right after a consumer writes, when WeChat's 48-hour customer-service window is surely open.
Each notification is claimed in `wechat_outbound` before it is sent, so the worker and the web
process never both send it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from disputes.clock import Clock, SystemClock
from disputes.privacy import mask_id
from web.wechat_client import WeChatClientBase, WeChatSendError, client_from_env
from web.wechat_store import (
    FAILED,
    claim_outbound,
    finish_inbound,
    finish_outbound,
    stale_inbound,
)

log = logging.getLogger(__name__)

SENDER_PREFIX = "wx-"
STALE_TURN = timedelta(minutes=2)
APOLOGY = "抱歉，刚才的消息没有处理完成，请再发送一次。"


def openid_of(recipient: str) -> str | None:
    """WeChat cases are filed under sender id `wx-<openid>`."""
    return recipient[len(SENDER_PREFIX):] if recipient.startswith(SENDER_PREFIX) else None


def push_recipient(factory: sessionmaker[Session], client: WeChatClientBase, recipient: str, clock: Clock,
                   *, consumer_just_wrote: bool = False) -> int:
    """Send one consumer's undelivered notifications, oldest first; returns how many were sent."""
    from disputes.service import mark_delivered, pending_notifications

    openid = openid_of(recipient)
    if openid is None:
        return 0
    with factory() as db:
        items = pending_notifications(db, "wechat", recipient)
    sent = 0
    for item in items:
        now = clock.now()
        if not claim_outbound(factory, item["id"], openid, now, ignore_backoff=consumer_just_wrote):
            continue
        try:
            client.send_text(openid, item["text"])
        except WeChatSendError as exc:
            # Outside the 48-hour window WeChat refuses everything: wait until the consumer writes.
            retry = timedelta(hours=6) if exc.window_closed else timedelta(minutes=2)
            finish_outbound(factory, item["id"], clock.now(), ok=False, error=str(exc), retry_in=retry)
            log.warning("wechat push of notification %s failed: %s", item["id"], exc)
            if exc.window_closed:
                break
            continue
        with factory() as db:
            mark_delivered(db, [item["id"]], clock, channel="wechat", recipient=recipient)
        finish_outbound(factory, item["id"], clock.now(), ok=True)
        sent += 1
    return sent


def recover_stale_turns(factory: sessionmaker[Session], client: WeChatClientBase, clock: Clock) -> int:
    """Bot turns still unanswered long after WeChat's push (the web worker died): apologise once."""
    count = 0
    for row in stale_inbound(factory, clock.now(), STALE_TURN):
        if not finish_inbound(factory, row.msg_id, FAILED, clock.now(), only_from=(row.state,)):
            continue  # someone else finished it meanwhile
        try:
            client.send_text(row.openid, APOLOGY)
        except WeChatSendError as exc:
            log.warning("apology for %s not sent: %s", row.msg_id, exc)
        count += 1
    return count


def run_once(factory: sessionmaker[Session] | None = None, client: WeChatClientBase | None = None,
             clock: Clock | None = None) -> dict[str, Any]:
    """One sweep over every WeChat recipient with undelivered notifications."""
    from disputes.db import session_factory
    from disputes.service import pending_recipients

    factory = factory or session_factory()
    client = client or client_from_env()
    clock = clock or SystemClock()
    with factory() as db:
        recipients = pending_recipients(db, "wechat")
    sent = 0
    for recipient in recipients:
        try:
            sent += push_recipient(factory, client, recipient, clock)
        except Exception:
            log.exception("wechat push to %s failed", mask_id(recipient))
    recovered = recover_stale_turns(factory, client, clock)
    return {"recipients": len(recipients), "sent": sent, "recovered": recovered}


def _register_with_worker() -> Any:
    """Register the per-minute sweep on the case service's Huey instance."""
    try:
        from huey import crontab

        from disputes.tasks import huey
    except Exception:  # pragma: no cover - the queue is optional for the web process
        log.debug("huey not available; wechat push runs only from the web process")
        return None

    @huey.periodic_task(crontab(minute="*"), name="web.wechat_push")
    def wechat_push_task() -> dict[str, Any]:
        return run_once()

    return wechat_push_task


wechat_push_task = _register_with_worker()
