"""Injectable time: every deadline and case number is computed from a clock object, never from
`datetime.now()` directly, so tests can freeze and jump time."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time as an aware UTC datetime."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FrozenClock:
    """A clock that only moves when told to (thread-safe, shared by test servers and workers)."""

    def __init__(self, at: datetime | str = "2026-05-01T10:00:00+08:00") -> None:
        self._lock = threading.Lock()
        self._now = _aware(datetime.fromisoformat(at) if isinstance(at, str) else at)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, at: datetime | str) -> None:
        with self._lock:
            self._now = _aware(datetime.fromisoformat(at) if isinstance(at, str) else at)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Jump forward, e.g. `clock.advance(days=4)`; returns the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        with self._lock:
            self._now = self._now + step
            return self._now

    def __repr__(self) -> str:
        return f"FrozenClock({self._now.isoformat()})"


def clock_from_env() -> Clock:
    """SystemClock, or a FrozenClock when env ODR_CLOCK_AT is set (demos and end-to-end tests),
    so the chat, web and worker processes agree on "now"."""
    import os

    at = os.environ.get("ODR_CLOCK_AT", "").strip()
    return FrozenClock(at) if at else SystemClock()


def _aware(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHANGHAI)
    return dt.astimezone(UTC)


def local(dt: datetime) -> datetime:
    """The instant in China Standard Time, the zone users and case numbers live in."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(SHANGHAI)


def local_date(dt: datetime) -> date:
    return local(dt).date()


def add_business_days(start: datetime, days: int) -> datetime:
    """Add working days (Mon–Fri, Shanghai time). Public holidays are not modelled (yet), so
    deadlines around 春节/国庆 come out early, which errs in the consumer's favour."""
    cur = local(start)
    added = 0
    while added < days:
        cur = cur + timedelta(days=1)
        if cur.weekday() < 5:
            added += 1
    return cur.astimezone(UTC)


def format_local(dt: datetime | None) -> str | None:
    """Render for Chinese users: 2026-05-04 18:00 (北京时间)."""
    if dt is None:
        return None
    return local(dt).strftime("%Y-%m-%d %H:%M")
