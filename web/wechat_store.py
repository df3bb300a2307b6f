"""WeChat bookkeeping in the case database, so that several web workers agree on it.

`WechatInbound` de-duplicates pushes by MsgId (WeChat retries a message up to three times when
it gets no answer within 5 s): the first worker to insert the row owns the bot turn, every retry
finds the row and must not start a second turn. `WechatOutbound` claims case notifications
before they are pushed through the customer-service API, so a push loop in the worker and a
push from the web process never send the same notification twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Integer, String, Text, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from disputes.models import Base

# Reply states of an inbound message.
PROCESSING = "processing"  # a worker is running the bot turn
ANSWERED = "answered"  # answered passively within the 5 s window
DEFERRED = "deferred"  # "success" was returned; the reply goes out through the customer-service API
SENT = "sent"  # the deferred reply was delivered
FAILED = "failed"  # the bot or the delivery failed; the consumer got (or will get) an apology
IGNORED = "ignored"  # nothing to answer (e.g. unsubscribe)


class WechatInbound(Base):
    """One message WeChat pushed to us, keyed by MsgId (events: openid + CreateTime + event)."""

    __tablename__ = "wechat_inbound"

    id: Mapped[int] = mapped_column(primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=PROCESSING)
    reply_text: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<WechatInbound {self.msg_id} {self.msg_type} {self.state}>"


class WechatOutbound(Base):
    """A case notification pushed (or being pushed) through the customer-service API."""

    __tablename__ = "wechat_outbound"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), unique=True)
    openid: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="sending")  # sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(255))

    def __repr__(self) -> str:
        return f"<WechatOutbound n={self.notification_id} {self.state} x{self.attempts}>"


@dataclass(frozen=True)
class Inbound:
    """A detached snapshot of an inbound row."""

    msg_id: str
    openid: str
    state: str
    reply_text: str | None


def _snap(row: WechatInbound) -> Inbound:
    return Inbound(row.msg_id, row.openid, row.state, row.reply_text)


def claim_inbound(factory: sessionmaker[Session], msg_id: str, openid: str, msg_type: str,
                  now: datetime) -> tuple[bool, Inbound]:
    """Insert the message; (True, row) for the first delivery, (False, existing row) for a retry.
    The unique index decides, so this holds across processes and machines."""
    with factory() as db:
        db.add(WechatInbound(msg_id=msg_id, openid=openid, msg_type=msg_type, received_at=now,
                             state=PROCESSING))
        try:
            db.commit()
            return True, Inbound(msg_id, openid, PROCESSING, None)
        except IntegrityError:
            db.rollback()
    with factory() as db:
        row = db.scalars(select(WechatInbound).where(WechatInbound.msg_id == msg_id)).one()
        return False, _snap(row)


def finish_inbound(factory: sessionmaker[Session], msg_id: str, state: str, now: datetime,
                   reply_text: str | None = None, *, only_from: tuple[str, ...] | None = None) -> bool:
    """Record how the message was answered; with `only_from`, only if still in one of those states."""
    with factory() as db:
        stmt = update(WechatInbound).where(WechatInbound.msg_id == msg_id)
        if only_from:
            stmt = stmt.where(WechatInbound.state.in_(only_from))
        values: dict = {"state": state, "replied_at": now}
        if reply_text is not None:
            values["reply_text"] = reply_text
        changed = db.execute(stmt.values(**values)).rowcount
        db.commit()
        return bool(changed)


def stale_inbound(factory: sessionmaker[Session], now: datetime, older_than: timedelta) -> list[Inbound]:
    """Turns a dead worker left behind (still processing / deferred long after the push)."""
    with factory() as db:
        rows = db.scalars(select(WechatInbound).where(
            WechatInbound.state.in_((PROCESSING, DEFERRED)), WechatInbound.received_at < now - older_than
        ).limit(200))
        return [_snap(r) for r in rows]


def claim_outbound(factory: sessionmaker[Session], notification_id: int, openid: str, now: datetime,
                   lease: timedelta = timedelta(minutes=5), *, ignore_backoff: bool = False) -> bool:
    """Take the right to push one notification. A failed (backed-off) or abandoned claim can be
    taken again by exactly one caller (conditional UPDATE); `ignore_backoff` when the consumer
    just wrote to us, which reopens WeChat's 48-hour window."""
    with factory() as db:
        db.add(WechatOutbound(notification_id=notification_id, openid=openid, state="sending", attempts=1,
                              claimed_at=now))
        try:
            db.commit()
            return True
        except IntegrityError:
            db.rollback()
        retry = (
            update(WechatOutbound)
            .where(WechatOutbound.notification_id == notification_id)
            .where(((WechatOutbound.state == "failed")
                    & ((WechatOutbound.next_attempt_at <= now) if not ignore_backoff else true()))
                   | ((WechatOutbound.state == "sending") & (WechatOutbound.claimed_at < now - lease)))
            .values(state="sending", claimed_at=now, attempts=WechatOutbound.attempts + 1)
        )
        changed = db.execute(retry).rowcount
        db.commit()
        return bool(changed)


def finish_outbound(factory: sessionmaker[Session], notification_id: int, now: datetime, *, ok: bool,
                    error: str | None = None, retry_in: timedelta | None = None) -> None:
    # One UPDATE, no read first: on SQLite a read that later turns into a write fails at once
    # ("database is locked") when another writer is busy, while a plain write waits its turn.
    if ok:
        values: dict = {"state": "sent", "sent_at": now, "last_error": None}
    else:
        values = {"state": "failed", "last_error": (error or "")[:255],
                  "next_attempt_at": now + (retry_in or timedelta(minutes=1))}
    with factory() as db:
        db.execute(update(WechatOutbound).where(WechatOutbound.notification_id == notification_id).values(**values))
        db.commit()
