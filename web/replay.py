"""Replay memory of signed requests, in the case database so that every web worker shares it.

A signature (platform API) or a WeChat (timestamp, nonce) pair is valid for a few minutes; within
that window it must be used once. As for WeChat MsgIds (`web.wechat_store`), the unique index
decides: the first request to insert its mark owns it, a later one finds the row. Rows carry the
moment the mark stops mattering (the end of the signature's window) and expired rows are deleted
on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Index, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from disputes.db import begin_write
from disputes.models import Base

# Kept a little longer than the window itself, for clocks that disagree by a few seconds.
MARGIN_SECONDS = 60


class ReplayMark(Base):
    """One used signature (or WeChat timestamp + nonce) within its validity window."""

    __tablename__ = "replay_marks"
    __table_args__ = (
        UniqueConstraint("scope", "mark", name="uq_replay_marks_scope_mark"),
        Index("ix_replay_marks_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))  # "wechat", "platform:<key>"
    mark: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str | None] = mapped_column(String(64))  # what the mark was used for
    expires_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<ReplayMark {self.scope} {self.mark[:16]}…>"


@dataclass(frozen=True)
class Seen:
    """`first`: this call inserted the mark; else `digest` is what the first use recorded."""

    first: bool
    digest: str | None


def expiry(timestamp: int, window: float) -> datetime:
    """When a mark for a request signed at `timestamp` (unix seconds) can be forgotten."""
    return datetime.fromtimestamp(timestamp + window + MARGIN_SECONDS, UTC)


def wall_clock(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def remember(factory: sessionmaker[Session], scope: str, mark: str, *, expires_at: datetime, now: datetime,
             digest: str | None = None) -> Seen:
    """Record a use of `mark` in its own transaction (expired marks are pruned first)."""
    with factory() as db:
        begin_write(db)
        db.execute(delete(ReplayMark).where(ReplayMark.expires_at < now))
        db.add(ReplayMark(scope=scope, mark=mark, digest=digest, expires_at=expires_at))
        try:
            db.commit()
            return Seen(True, digest)
        except IntegrityError:
            db.rollback()
    with factory() as db:
        row = db.scalars(select(ReplayMark).where(ReplayMark.scope == scope, ReplayMark.mark == mark)).first()
        return Seen(False, row.digest if row is not None else None)


def is_used(session: Session, scope: str, mark: str) -> bool:
    """Inside the caller's transaction: has `mark` been used?"""
    return session.scalars(select(ReplayMark.id).where(ReplayMark.scope == scope, ReplayMark.mark == mark)).first() \
        is not None


def add(session: Session, scope: str, mark: str, *, expires_at: datetime, digest: str | None = None) -> None:
    """Inside the caller's transaction: record `mark` together with what the request changes (a
    concurrent insert of the same mark fails the commit, and `run_in_transaction` runs it again)."""
    session.add(ReplayMark(scope=scope, mark=mark, digest=digest, expires_at=expires_at))
