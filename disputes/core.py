"""Helpers shared by the service, negotiation and escalation modules."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from disputes.clock import Clock
from disputes.config import PlatformConfig, load_platforms
from disputes.errors import AccessDenied, CaseNotFound
from disputes.models import Case, CaseEvent, Notification
from disputes.privacy import mask_id

log = logging.getLogger(__name__)


def get_case(session: Session, case_no: str, *, lock: bool = False) -> Case:
    """Load a case by number; `lock=True` takes a row lock (PostgreSQL) for a write transaction
    (SQLite write transactions are already exclusive)."""
    q = select(Case).where(Case.case_no == str(case_no).strip().upper())
    if lock:
        q = q.with_for_update()
    case = session.scalars(q).first()
    if case is None:
        raise CaseNotFound(f"no case {case_no}")
    return case


def authorize(case: Case, sender_id: str, channel: str | None = None) -> None:
    """Only the consumer who filed a case may read or act on it."""
    if str(case.sender_id) != str(sender_id) or (channel is not None and case.channel != channel):
        log.warning("sender %s refused access to case %s", mask_id(sender_id), case.case_no)
        raise AccessDenied(f"sender may not access {case.case_no}")


def platform_config(case: Case) -> PlatformConfig:
    cfg = load_platforms()
    if case.platform is not None:
        try:
            return cfg.get(case.platform.key)
        except KeyError:
            log.warning("platform %s of case %s is no longer configured", case.platform.key, case.case_no)
    return cfg.unlisted


def platform_display(case: Case) -> str:
    if case.platform is not None and case.platform.key != "unlisted":
        return case.platform.name
    return case.platform_name or "平台"


def notify(session: Session, case: Case, text: str, *, kind: str, clock: Clock) -> Notification:
    """Queue a message to the consumer on the channel they used."""
    n = Notification(
        case_id=case.id,
        channel=case.channel,
        recipient=case.sender_id,
        kind=kind,
        text=text,
        created_at=clock.now(),
    )
    session.add(n)
    return n


def citation_of(law: str | None, article: int | None) -> str | None:
    """《法》第N条 if the corpus has it, else None (never render a citation we cannot resolve)."""
    if not law or not article:
        return None
    try:
        from knowledge.corpus import resolve

        return resolve(law, int(article)).citation
    except Exception:
        return None


def legal_basis_of(decision: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The decision's legal basis as [{law, article, citation}] (citation only when resolvable)."""
    out: list[dict[str, Any]] = []
    for item in (decision or {}).get("legal_basis") or []:
        if not isinstance(item, dict) or not item.get("law") or not item.get("article"):
            continue
        try:
            article = int(item["article"])
        except (TypeError, ValueError):
            continue
        entry = {"law": str(item["law"]), "article": article}
        cit = citation_of(entry["law"], article)
        if cit:
            entry["citation"] = cit
        out.append(entry)
    return out


def case_events(case: Case) -> list[CaseEvent]:
    """The case's events, read from the database (the view-only relationship may be stale
    inside the transaction that appended them)."""
    session = object_session(case)
    if session is None:
        return list(case.events)
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
