"""After-commit hand-off of background jobs. Service functions never talk to the queue inside a
transaction: they record job requests on the session, and once the commit succeeded the
dispatcher enqueues them. If enqueueing fails the periodic sweep still finds the work, because
the database (case state, delivery outbox) is the source of truth."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

Dispatcher = Callable[[str, dict[str, Any]], None]
_dispatcher: Dispatcher | None = None


def set_dispatcher(fn: Dispatcher | None) -> Dispatcher | None:
    """Replace the dispatcher (tests install an inline or collecting one); returns the old one."""
    global _dispatcher
    old, _dispatcher = _dispatcher, fn
    return old


def later(session: Session, job: str, **kwargs: Any) -> None:
    """Ask for `job` to run once the current transaction has committed."""
    session.info.setdefault("odr_jobs", []).append((job, kwargs))


def discard(session: Session) -> None:
    session.info.pop("odr_jobs", None)


def flush(session: Session) -> None:
    """Run the dispatcher for the jobs recorded on `session` (called right after commit)."""
    jobs = session.info.pop("odr_jobs", [])
    for job, kwargs in jobs:
        try:
            (_dispatcher or _huey_dispatch)(job, kwargs)
        except Exception:  # the sweep recovers; never fail the consumer's request for this
            log.exception("could not dispatch job %s %s; the periodic sweep will retry", job, kwargs)


def _huey_dispatch(job: str, kwargs: dict[str, Any]) -> None:
    if os.environ.get("ODR_DISPATCH", "huey") == "off":
        return
    from disputes import tasks

    tasks.enqueue(job, kwargs)
