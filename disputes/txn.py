"""Transactions with retry: every mutating service call runs through `run_in_transaction`, which
commits, retries on lock/serialisation/unique conflicts with jittered backoff, and dispatches
after-commit jobs only when the commit succeeded."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from disputes import dispatch
from disputes.db import begin_write

log = logging.getLogger(__name__)
T = TypeVar("T")

_RETRY_MARKERS = (
    "database is locked",
    "database table is locked",
    "busy",
    "deadlock detected",
    "could not serialize",
    "unique constraint",
    "duplicate key",
)


def is_retryable(exc: BaseException) -> bool:
    """Conflicts another transaction caused; running the whole unit again is the fix."""
    if isinstance(exc, StaleDataError):
        return True
    if isinstance(exc, IntegrityError | OperationalError):
        msg = str(exc).lower()
        return any(m in msg for m in _RETRY_MARKERS)
    return False


def run_in_transaction(session: Session, fn: Callable[[], T], *, attempts: int = 10) -> T:
    """Run `fn` in a write transaction and commit; on a retryable conflict roll back and run it
    again. A read transaction the caller left open is committed first (it holds no changes a
    service call could lose, and SQLite needs the write lock taken at BEGIN)."""
    if session.in_transaction():
        session.commit()
    for attempt in range(1, attempts + 1):
        try:
            begin_write(session)
            result = fn()
            session.commit()
        except BaseException as exc:
            session.rollback()
            dispatch.discard(session)
            if attempt == attempts or not is_retryable(exc):
                raise
            delay = min(0.02 * 2**attempt, 1.0) * (0.5 + random.random())
            log.info("retrying transaction after conflict (%s), attempt %d", exc.__class__.__name__, attempt)
            time.sleep(delay)
            continue
        dispatch.flush(session)
        return result
    raise AssertionError("unreachable")
