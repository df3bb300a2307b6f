"""Service desk (tier 1): the queue platform agents work from, their answers, and desk users.
The web engineer builds the pages and login on top of these functions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from disputes import negotiation
from disputes.clock import Clock, format_local
from disputes.core import get_case, platform_display
from disputes.errors import AccessDenied, ConflictError, ValidationError
from disputes.models import Case, DeskUser, Escalation, Platform
from disputes.service import status_dict
from disputes.states import State, label, record_event, transition
from disputes.txn import run_in_transaction


def create_desk_user(
    session: Session, username: str, password: str, *, clock: Clock, role: str = "agent",
    platform_key: str | None = None, display_name: str | None = None,
) -> DeskUser:
    """Create an agent (bound to one platform) or an admin (all platforms)."""
    if role not in ("agent", "admin"):
        raise ValidationError("bad role", message_zh="角色必须是 agent 或 admin")
    if len(password) < 8:
        raise ValidationError("short password", message_zh="密码至少8位")

    def run() -> DeskUser:
        platform_id = None
        if platform_key:
            platform = session.scalars(select(Platform).where(Platform.key == platform_key)).first()
            if platform is None:
                from disputes.config import load_platforms

                cfg = load_platforms().get(platform_key)
                platform = Platform(key=cfg.key, name=cfg.name, connector=cfg.connector, created_at=clock.now())
                session.add(platform)
                session.flush()
            platform_id = platform.id
        user = DeskUser(username=username, display_name=display_name, role=role, platform_id=platform_id,
                        active=True, created_at=clock.now(), password_hash="")
        user.set_password(password)
        session.add(user)
        return user

    return run_in_transaction(session, run)


def authenticate_desk_user(session: Session, username: str, password: str) -> DeskUser | None:
    user = session.scalars(select(DeskUser).where(DeskUser.username == username)).first()
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def _may_see(user: DeskUser, case: Case) -> bool:
    return user.role == "admin" or (user.platform_id is not None and user.platform_id == case.platform_id)


def desk_queue(session: Session, user: DeskUser, clock: Clock) -> list[dict[str, Any]]:
    """Cases waiting for a human: escalated to the desk, or negotiating with a desk-connector
    platform; plus hand-off requests without a case (admins only). Earliest deadline first."""
    now = clock.now()
    q = (select(Case).join(Platform, Platform.id == Case.platform_id, isouter=True)
         .where(or_(Case.state == State.ESCALATED_DESK,
                    (Case.state == State.NEGOTIATING) & (Platform.connector == "desk"))))
    if user.role != "admin":
        q = q.where(Case.platform_id == user.platform_id)
    rows = []
    for c in session.scalars(q):
        rows.append({
            "case_no": c.case_no, "state": c.state, "state_label": label(c.state), "platform": platform_display(c),
            "shop": c.facts.get("shop"), "product": c.facts.get("product"), "round": c.round,
            "demanded_remedy": c.demanded_remedy,
            "demanded_amount": None if c.demanded_amount is None else str(c.demanded_amount),
            "deadline": format_local(c.next_deadline), "deadline_kind": c.deadline_kind,
            "overdue": c.next_deadline is not None and c.next_deadline <= now,
            "_sort": c.next_deadline.isoformat() if c.next_deadline else "9999",
        })
    rows.sort(key=lambda r: r.pop("_sort"))
    if user.role == "admin":
        for e in session.scalars(select(Escalation).where(Escalation.case_id.is_(None),
                                                          Escalation.resolved_at.is_(None))):
            rows.append({"case_no": None, "handoff_id": e.id, "channel": e.channel, "reason": e.reason,
                         "created_at": format_local(e.created_at), "state_label": "待人工联系"})
    return rows


def desk_case(session: Session, case_no: str, user: DeskUser) -> dict[str, Any]:
    """The case as the consumer sees it, plus the decision and claim (phone stays masked)."""
    case = get_case(session, case_no)
    if not _may_see(user, case):
        raise AccessDenied(f"{user.username} may not see {case_no}")
    out = status_dict(case)
    out["decision"] = case.decision
    out["facts"] = case.facts
    return out


def desk_answer(session: Session, case_no: str, user: DeskUser, answer: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """An agent's accept / counter_offer / reject / request_info (same rules as the platform API)."""
    clean = negotiation.validate_platform_answer(answer)

    def run() -> dict[str, Any]:
        case = get_case(session, case_no, lock=True)
        if not _may_see(user, case):
            raise AccessDenied(f"{user.username} may not answer {case_no}")
        return negotiation.apply_platform_answer(session, case, clean, clock, actor=f"desk:{user.username}")

    return run_in_transaction(session, run)


def desk_escalate(session: Session, case_no: str, user: DeskUser, clock: Clock, reason: str = "desk_gave_up") -> dict:
    """The desk cannot resolve it: build the 12315 package now."""

    def run() -> dict[str, Any]:
        case = get_case(session, case_no, lock=True)
        if not _may_see(user, case):
            raise AccessDenied(f"{user.username} may not escalate {case_no}")
        if case.state != State.ESCALATED_DESK:
            raise ConflictError("not at desk", message_zh="只有已转平台客服的案件可以升级到12315")
        negotiation.escalate_to_regulator(session, case, clock, reason=reason, actor=f"desk:{user.username}")
        return status_dict(case)

    return run_in_transaction(session, run)


def close_case(session: Session, case_no: str, user: DeskUser, clock: Clock, reason: str) -> dict[str, Any]:
    """Close a case (e.g. after the settlement was carried out, or the 12315 route was taken)."""

    def run() -> dict[str, Any]:
        case = get_case(session, case_no, lock=True)
        if not _may_see(user, case):
            raise AccessDenied(f"{user.username} may not close {case_no}")
        transition(session, case, State.CLOSED, actor=f"desk:{user.username}", clock=clock, reason=reason)
        return status_dict(case)

    return run_in_transaction(session, run)


def resolve_handoff(session: Session, handoff_id: int, user: DeskUser, clock: Clock, note: str = "") -> None:
    """Mark a case-less hand-off request as handled."""

    def run() -> None:
        e = session.get(Escalation, handoff_id)
        if e is None or e.case_id is not None:
            raise ValidationError("no such handoff", message_zh="没有该转人工请求")
        e.resolved_at, e.assignee_id = clock.now(), user.id
        record_event(session, None, "desk_note", actor=f"desk:{user.username}", at=clock.now(),
                     payload={"handoff_id": e.id, "note": note})

    run_in_transaction(session, run)
