"""The case state machine: the only code that changes `Case.state`, and every change is an event.

draft → submitted → negotiating → settled | escalated_desk → escalated_regulator → closed
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from disputes.clock import Clock
from disputes.models import Case, CaseEvent


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    NEGOTIATING = "negotiating"
    SETTLED = "settled"
    ESCALATED_DESK = "escalated_desk"
    ESCALATED_REGULATOR = "escalated_regulator"
    CLOSED = "closed"


LABELS_ZH: dict[str, str] = {
    State.DRAFT: "草稿",
    State.SUBMITTED: "已提交",
    State.NEGOTIATING: "协商中",
    State.SETTLED: "已和解",
    State.ESCALATED_DESK: "已转平台客服",
    State.ESCALATED_REGULATOR: "已转12315",
    State.CLOSED: "已结案",
}

# Allowed moves. Offers can be made and accepted both while negotiating and at the desk (tier 1),
# so both lead to `settled`. A case can be closed (withdrawn) from any open state.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.DRAFT: frozenset({State.SUBMITTED, State.CLOSED}),
    State.SUBMITTED: frozenset({State.NEGOTIATING, State.ESCALATED_DESK, State.CLOSED}),
    State.NEGOTIATING: frozenset({State.SETTLED, State.ESCALATED_DESK, State.CLOSED}),
    State.ESCALATED_DESK: frozenset({State.SETTLED, State.ESCALATED_REGULATOR, State.CLOSED}),
    State.ESCALATED_REGULATOR: frozenset({State.CLOSED}),
    State.SETTLED: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
}

OPEN_STATES = frozenset(
    {State.SUBMITTED, State.NEGOTIATING, State.ESCALATED_DESK, State.ESCALATED_REGULATOR}
)
# States in which a settlement offer may be put to the consumer.
OFFER_STATES = frozenset({State.NEGOTIATING, State.ESCALATED_DESK})


class IllegalTransition(ValueError):
    """A transition the lifecycle does not allow; nothing was changed."""

    def __init__(self, case_no: str, current: str, target: str) -> None:
        allowed = sorted(TRANSITIONS.get(State(current), ())) if current in {s.value for s in State} else []
        super().__init__(
            f"case {case_no}: illegal transition {current} → {target} "
            f"(allowed from {current}: {', '.join(allowed) or 'none'})"
        )
        self.case_no, self.current, self.target = case_no, current, target
        self.message_zh = f"案件{case_no}当前为「{label(current)}」，不能变更为「{label(target)}」"


def label(state: str) -> str:
    return LABELS_ZH.get(state, state)


def can_transition(current: str, target: str) -> bool:
    try:
        return State(target) in TRANSITIONS[State(current)]
    except ValueError:
        return False


def record_event(
    session: Session,
    case: Case | None,
    type_: str,
    *,
    actor: str,
    at: datetime,
    payload: dict[str, Any] | None = None,
    legal_basis: list[dict[str, Any]] | None = None,
) -> CaseEvent:
    """Append one event to the audit log (the single way events are written)."""
    ev = CaseEvent(
        case_id=case.id if case is not None else None,
        at=at,
        actor=actor,
        type=type_,
        payload=payload or {},
        legal_basis=list(legal_basis or []),
    )
    if case is not None and case.id is None:
        ev.case = case
    session.add(ev)
    return ev


def transition(
    session: Session,
    case: Case,
    target: State | str,
    *,
    actor: str,
    clock: Clock,
    reason: str | None = None,
    legal_basis: list[dict[str, Any]] | None = None,
    payload: dict[str, Any] | None = None,
) -> CaseEvent:
    """Move `case` to `target` or raise IllegalTransition; writes a `state_changed` event."""
    current = case.state or State.DRAFT
    target = State(target)
    if not can_transition(current, target):
        raise IllegalTransition(case.case_no, current, target)
    now = clock.now()
    case.state = target
    case.updated_at = now
    if target == State.SUBMITTED:
        case.submitted_at = now
    if target == State.CLOSED:
        case.closed_at = now
    if target in (State.SETTLED, State.CLOSED, State.ESCALATED_REGULATOR):
        # No further automatic deadline: the case leaves our negotiation clock.
        case.next_deadline = None
        case.deadline_kind = None
    data = {"from": current, "to": str(target), "label": label(target)}
    if reason:
        data["reason"] = reason
    data.update(payload or {})
    return record_event(
        session, case, "state_changed", actor=actor, at=now, payload=data, legal_basis=legal_basis
    )
