"""Process-wide dependencies of the actions: database sessions and the clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy.orm import Session

from disputes.clock import Clock, FrozenClock, SystemClock, local_date

_clock: Clock | None = None
_migrated: set[str] = set()


def clock() -> Clock:
    """The system clock, or a frozen one when ODR_CLOCK_AT is set (demos and end-to-end tests)."""
    global _clock
    if _clock is None:
        at = os.environ.get("ODR_CLOCK_AT")
        _clock = FrozenClock(at) if at else SystemClock()
    return _clock


def today() -> date:
    return local_date(clock().now())


@contextmanager
def db_session() -> Iterator[Session]:
    """A session on the case store; commits on success, rolls back on error."""
    from disputes.db import database_url, session_factory, upgrade

    url = database_url()
    if url not in _migrated:
        upgrade(url)
        _migrated.add(url)
    with session_factory(url)() as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


def channel_of(sender_id: str) -> str:
    """Conversation ids carry their channel: web-… from the chat page, wx-… from WeChat."""
    return "wechat" if sender_id.startswith("wx-") else "web"
