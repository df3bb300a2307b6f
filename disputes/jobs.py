"""Background jobs as plain functions of (session factory, clock), so the Huey worker, tests and
scripts run exactly the same code; `tasks.py` only wraps them for the queue."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from disputes import delivery, erasure, negotiation
from disputes.clock import Clock

log = logging.getLogger(__name__)


def open_case(factory: sessionmaker[Session], clock: Clock, case_no: str | None = None) -> list[str]:
    """Open negotiation for a just-submitted case (or all still `submitted`)."""
    return negotiation.open_submitted(factory, clock, case_no)


def deliver(factory: sessionmaker[Session], clock: Clock, delivery_id: int, http: Any = None) -> delivery.AttemptResult:
    return delivery.attempt(factory, delivery_id, clock, http=http)


def deliver_due(factory: sessionmaker[Session], clock: Clock, http: Any = None) -> list[delivery.AttemptResult]:
    """Attempt every delivery that is due (new, backed off, or abandoned by a dead worker)."""
    with factory() as session:
        ids = delivery.due(session, clock)
    return [delivery.attempt(factory, i, clock, http=http) for i in ids]


def tick(factory: sessionmaker[Session], clock: Clock, http: Any = None) -> dict[str, Any]:
    """The periodic sweep: open submitted cases, deliver due webhooks, escalate overdue cases,
    send seven-day reminders. Idempotent; several workers may run it at once."""
    out: dict[str, Any] = {}
    for name, fn in (
        ("opened", lambda: open_case(factory, clock)),
        ("delivered", lambda: [r.status for r in deliver_due(factory, clock, http)]),
        ("deadlines", lambda: negotiation.process_deadlines(factory, clock)),
        ("reminders", lambda: negotiation.send_seven_day_reminders(factory, clock)),
    ):
        try:
            out[name] = fn()
        except Exception:
            log.exception("periodic job %s failed", name)
            out[name] = "error"
    return out


def purge(factory: sessionmaker[Session], clock: Clock, **kwargs: Any) -> dict[str, int]:
    """The retention purge (`disputes.erasure.purge`, periods from env ODR_RETENTION_*)."""
    return erasure.purge(factory, clock, **kwargs)


def erase_conversation(factory: sessionmaker[Session], sender_id: str, tracker_url: str | None = None) -> dict[str, int]:
    """Delete a sender's conversation (tracker, WeChat rows, case-less hand-offs) outside a turn."""
    with factory() as session:
        return erasure.erase_conversation(session, sender_id, tracker_url=tracker_url)
