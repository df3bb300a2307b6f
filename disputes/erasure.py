"""Withdrawal with deletion of personal information (个人信息保护法第四十七条) and the retention
purge (第十九条: kept no longer than the purpose needs).

`erase_case` withdraws a case (closed if it was open, pending offers withdrawn, undelivered
messages to the platform cancelled) and deletes what it holds about the person:

- the contact data (name, phone, address) on the consumer row, once no other case of theirs
  needs it; the case is moved to an anonymous consumer of its own and gets an anonymous case
  number and sender id, so no-one can look it up or link it back to the conversation;
- the free text: the stated facts, the decision, the shop and platform names as typed, offers
  and their messages, escalations with the 12315 package, notifications, the bodies of webhook
  messages and of stored platform-API answers;
- the evidence files (the bytes on disk and their rows);
- in the audit log, every payload except its categorical keys (`KEPT_EVENT_KEYS`), and the time
  of every event coarsened to the day.

What is kept, and why: the anonymised case row (channel, known platform, issue type from the fixed
vocabulary, remedy asked for, negotiation round, state) and its state history by day, which is
all `/stats` counts (cases by platform, issue type, outcome and month, days to settlement, share
escalated); and the fact that a deletion happened (a `data_erased` event), because the audit log
must show that the case did not simply vanish.

`erase_conversation` deletes what the chat keeps about a sender outside any case: the Rasa
tracker (the conversation itself, in the tracker store's `events` table), WeChat inbound rows,
hand-off requests without a case, and their notifications.

`purge` is the worker's retention job with the periods of `RetentionPolicy` (env
ODR_RETENTION_*_DAYS, documented in the README).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from disputes.clock import SHANGHAI, Clock, local_date
from disputes.core import authorize, get_case
from disputes.db import REPO_ROOT, VAR_DIR, normalise_url
from disputes.models import (
    Case,
    CaseEvent,
    Consumer,
    Escalation,
    EvidenceFile,
    Notification,
    Offer,
    PlatformRequest,
    WebhookDelivery,
)
from disputes.states import State, record_event, transition
from disputes.txn import run_in_transaction

log = logging.getLogger(__name__)

ERASED_SENDER_PREFIX = "erased-"
# Payload keys that describe what happened, never who or in which words (state names, tiers, kinds).
KEPT_EVENT_KEYS = ("from", "to", "label", "tier", "kind", "remedy", "round")
FINISHED_STATES = (State.CLOSED, State.SETTLED, State.ESCALATED_REGULATOR)
ORPHAN_UPLOAD_AGE = timedelta(days=1)  # stored bytes no evidence row points to (an aborted upload)
ERASED_EVIDENCE_NOTE = "（文件已按保存期限删除）"

# Tables the web tier keeps in the case database (models in web/wechat_store.py). They are erased
# by name here so that the worker's purge does not import the web tier.
_WECHAT_INBOUND = sa.table("wechat_inbound", sa.column("openid"), sa.column("received_at"))
_WECHAT_OUTBOUND = sa.table("wechat_outbound", sa.column("notification_id"), sa.column("openid"),
                            sa.column("state"), sa.column("claimed_at"))
# Rasa's SQL tracker store (rasa.core.tracker_store.SQLTrackerStore): one row per event.
_TRACKER_EVENTS = sa.table("events", sa.column("sender_id"), sa.column("timestamp"))


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class RetentionPolicy:
    """How long personal information is kept, in days (0 keeps it until the consumer deletes it):

    - `case_days`: a finished case (closed, settled, or handed over as a 12315 package) is
      anonymised this long after it finished: time to file with 12315, for its mediation and for
      questions about the record;
    - `upload_days`: evidence files of a finished case are deleted this long after it finished
      (the consumer has the originals; the package lists them);
    - `tracker_days`: a conversation (Rasa tracker) without a message for this long is deleted;
      what a case needs was stored with the case;
    - `wechat_days`: WeChat inbound rows (MsgId de-duplication, the reply sent) are deleted after
      this long; de-duplication needs minutes.
    """

    case_days: int = 365
    upload_days: int = 90
    tracker_days: int = 30
    wechat_days: int = 7

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        """Defaults, each overridden by env ODR_RETENTION_<FIELD> (e.g. ODR_RETENTION_CASE_DAYS)."""
        values: dict[str, int] = {}
        for f in fields(cls):
            raw = os.environ.get(f"ODR_RETENTION_{f.name.upper()}", "").strip()
            if raw:
                value = int(raw)
                if value < 0:
                    raise ValueError(f"ODR_RETENTION_{f.name.upper()} must be 0 or more days")
                values[f.name] = value
        return cls(**values)


def upload_dir() -> Path:
    """Where evidence files are stored: env ODR_UPLOAD_DIR, else `<repo>/var/uploads`."""
    return Path(os.environ.get("ODR_UPLOAD_DIR") or VAR_DIR / "uploads").resolve()


def tracker_database_url() -> str | None:
    """The Rasa tracker store: env ODR_TRACKER_DATABASE_URL; else, for the scaled profile
    (ODR_PROFILE=scaled, bot/endpoints.scaled.yml), PostgreSQL from ODR_PG_HOST/PORT/DB/USER (the
    password, as for Rasa, from PGPASSWORD); else the embedded SQLite file of bot/endpoints.yml."""
    explicit = os.environ.get("ODR_TRACKER_DATABASE_URL", "").strip()
    if explicit:
        return normalise_url(explicit)
    if os.environ.get("ODR_PROFILE", "embedded").strip() == "scaled":
        url = sa.engine.URL.create(
            "postgresql+psycopg", username=os.environ.get("ODR_PG_USER") or None,
            host=os.environ.get("ODR_PG_HOST") or None,
            port=int(os.environ["ODR_PG_PORT"]) if os.environ.get("ODR_PG_PORT") else None,
            database=os.environ.get("ODR_PG_DB") or None)
        return url.render_as_string()
    return f"sqlite:///{REPO_ROOT / 'var' / 'rasa_tracker.sqlite3'}"


# ---------------------------------------------------------------- one case


def _day(dt: datetime | None) -> datetime | None:
    """The start of the (Shanghai) day: the month and the days between states survive, the hour
    that could match a platform's own records does not."""
    if dt is None:
        return None
    return datetime.combine(local_date(dt), time(0), tzinfo=SHANGHAI)


def _redacted(payload: dict[str, Any] | None) -> dict[str, Any]:
    kept = {k: v for k, v in (payload or {}).items() if k in KEPT_EVENT_KEYS and not isinstance(v, dict | list)}
    return {**kept, "erased": True}


def _redact_events(session: Session, where) -> int:
    """Replace the payloads of the matching events and coarsen their times (the one UPDATE the
    append-only triggers allow: see migration 0004)."""
    session.flush()
    rows = session.execute(select(CaseEvent.id, CaseEvent.payload, CaseEvent.at).where(where)).all()
    for event_id, payload, at in rows:
        session.execute(update(CaseEvent).where(CaseEvent.id == event_id)
                        .values(payload=_redacted(payload), at=_day(at))
                        .execution_options(synchronize_session=False))
    return len(rows)


def _delete_notifications(session: Session, where) -> int:
    ids = list(session.scalars(select(Notification.id).where(where)))
    if ids:
        session.execute(delete(_WECHAT_OUTBOUND).where(_WECHAT_OUTBOUND.c.notification_id.in_(ids)))
        session.execute(delete(Notification).where(Notification.id.in_(ids)))
    return len(ids)


def _issue_type(problem: Any) -> str | None:
    """The issue type if it is one of the fixed vocabulary (what /stats counts), else None."""
    from knowledge.intake.summary import problem_types

    if isinstance(problem, str) and problem in {str(p["name"]) for p in problem_types()}:
        return problem
    return None


def _remove_files(root: Path, relative_paths: Iterable[str]) -> int:
    removed = 0
    for rel in relative_paths:
        path = (root / rel).resolve()
        if root not in path.parents:
            continue
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def erase_case(session: Session, case_no: str, *, clock: Clock, upload_root: Path | None = None,
               sender_id: str | None = None, actor: str = "consumer",
               reason: str = "consumer_request") -> dict[str, Any]:
    """Withdraw the case and delete the personal information it holds (module docstring).
    With `sender_id` the case must be that consumer's own (CaseNotFound / AccessDenied otherwise);
    without it the caller is trusted (the retention purge). Idempotent. Returns
    {case_no, erased, files_removed, events_redacted, consumer_deleted}."""
    root = (upload_root or upload_dir()).resolve()
    files: list[str] = []

    def run() -> dict[str, Any]:
        files.clear()
        case = get_case(session, case_no, lock=True)
        if sender_id is not None:
            authorize(case, sender_id)
        if case.erased_at is not None:
            return {"case_no": case.case_no, "erased": False, "files_removed": 0, "events_redacted": 0,
                    "consumer_deleted": False}
        now = clock.now()
        old_no, old_consumer_id = case.case_no, case.consumer_id
        for offer in case.offers:
            if offer.status == "pending":
                offer.status, offer.responded_at = "withdrawn", now
        if case.state != State.CLOSED:
            transition(session, case, State.CLOSED, actor=actor, clock=clock, reason=reason)

        files.extend(ev.storage_path for ev in case.evidence if ev.storage_path)
        session.flush()
        session.execute(delete(EvidenceFile).where(EvidenceFile.case_id == case.id))
        session.execute(delete(Offer).where(Offer.case_id == case.id))
        session.execute(delete(Escalation).where(Escalation.case_id == case.id))
        _delete_notifications(session, Notification.case_id == case.id)
        session.execute(update(WebhookDelivery).where(WebhookDelivery.case_id == case.id,
                                                      WebhookDelivery.status.in_(("pending", "sending")))
                        .values(status="cancelled", lease_until=None)
                        .execution_options(synchronize_session=False))
        session.execute(update(WebhookDelivery).where(WebhookDelivery.case_id == case.id)
                        .values(body="{}", last_error=None).execution_options(synchronize_session=False))
        session.execute(update(PlatformRequest)
                        .where(PlatformRequest.response_body["case_no"].as_string() == old_no)
                        .values(response_body={"erased": True}).execution_options(synchronize_session=False))
        session.expire(case, ["offers", "evidence", "escalations"])

        anonymous = ERASED_SENDER_PREFIX + secrets.token_hex(12)
        consumer = Consumer(channel=case.channel, sender_id=anonymous, created_at=_day(case.created_at))
        session.add(consumer)
        problem = _issue_type((case.facts or {}).get("problem"))
        case.case_no = f"ERASED-{case.id}"
        case.sender_id = anonymous
        case.consumer = consumer
        case.merchant = None
        case.platform_name = None
        case.facts = {"problem": problem} if problem else {}
        case.decision = None
        case.demanded_amount = None
        case.next_deadline, case.deadline_kind = None, None
        case.created_at, case.updated_at = _day(case.created_at), _day(now)
        case.submitted_at, case.closed_at = _day(case.submitted_at), _day(case.closed_at or now)
        case.erased_at = _day(now)
        record_event(session, case, "data_erased", actor=actor, at=now, payload={"erased": True, "kind": reason})
        redacted = _redact_events(session, CaseEvent.case_id == case.id)

        session.flush()
        still_used = session.scalar(select(func.count(Case.id)).where(Case.consumer_id == old_consumer_id))
        if not still_used:
            session.execute(delete(Consumer).where(Consumer.id == old_consumer_id))
        return {"case_no": case.case_no, "erased": True, "files_removed": 0, "events_redacted": redacted,
                "consumer_deleted": not still_used}

    result = run_in_transaction(session, run)
    result["files_removed"] = _remove_files(root, files)  # after the commit: a rollback keeps them
    log.info("case erased (%s): %d events redacted, %d files removed", reason, result["events_redacted"],
             result["files_removed"])
    return result


# ---------------------------------------------------------------- the conversation


def _openid(sender_id: str) -> str | None:
    return sender_id[3:] if sender_id.startswith("wx-") else None


def erase_conversation(session: Session, sender_id: str, *, tracker_url: str | None = None) -> dict[str, int]:
    """Delete what the chat keeps about `sender_id` outside its cases: hand-off requests without a
    case and their notifications, case-less events naming the sender, WeChat inbound rows, and
    the Rasa tracker (`tracker_url`, default `tracker_database_url()`; "" skips it)."""
    sender = str(sender_id)

    def run() -> dict[str, int]:
        counts = {"events_redacted": _redact_events(session, (CaseEvent.case_id.is_(None))
                                                    & (CaseEvent.payload["sender_id"].as_string() == sender))}
        counts["handoffs_deleted"] = session.execute(
            delete(Escalation).where(Escalation.case_id.is_(None), Escalation.sender_id == sender)).rowcount
        counts["notifications_deleted"] = _delete_notifications(
            session, Notification.case_id.is_(None) & (Notification.recipient == sender))
        openid = _openid(sender)
        counts["wechat_rows_deleted"] = session.execute(
            delete(_WECHAT_INBOUND).where(_WECHAT_INBOUND.c.openid == openid)).rowcount if openid else 0
        return counts

    counts = run_in_transaction(session, run)
    counts["tracker_events_deleted"] = delete_tracker(sender, tracker_url)
    return counts


def forget_sender(session: Session, sender_id: str, case_nos: Iterable[str], *, clock: Clock,
                  upload_root: Path | None = None, tracker_url: str | None = None) -> None:
    """A consumer's withdrawal and deletion, from the case page or the chat: the named cases (each
    must be theirs), then the conversation now and once more from the worker a little later, which
    catches a chat turn that was still running and would save the conversation again. A tracker
    store that is down now is left to that second pass."""
    from disputes import dispatch

    for case_no in case_nos:
        erase_case(session, case_no, sender_id=sender_id, clock=clock, upload_root=upload_root)
    try:
        erase_conversation(session, sender_id, tracker_url=tracker_url)
    except Exception:  # the worker's pass retries
        log.exception("erasing the conversation failed; the worker will retry")
    dispatch.later(session, "erase_conversation", sender_id=sender_id)
    dispatch.flush(session)


def _tracker_engine(url: str) -> sa.Engine | None:
    """An engine on the tracker store, or None when there is none yet (no file, no table). Plain
    SQLAlchemy on purpose: Rasa owns that database and its settings."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    parsed = make_url(url)
    kwargs: dict[str, Any] = {"poolclass": NullPool}
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or not Path(parsed.database).is_file():
            return None
        kwargs["connect_args"] = {"timeout": 30}
    engine = sa.create_engine(url, **kwargs)
    try:
        if not sa.inspect(engine).has_table("events"):
            engine.dispose()
            return None
    except sa.exc.OperationalError:
        engine.dispose()
        return None
    return engine


def delete_tracker(sender_id: str, tracker_url: str | None = None) -> int:
    """Delete the sender's conversation from the Rasa tracker store; the number of events removed.
    A turn in progress saves its tracker again afterwards, so callers inside a turn schedule this
    for later (`dispatch.later(session, "erase_conversation", sender_id=…)`)."""
    url = tracker_database_url() if tracker_url is None else tracker_url
    engine = _tracker_engine(url) if url else None
    if engine is None:
        return 0
    try:
        with engine.begin() as conn:
            return conn.execute(delete(_TRACKER_EVENTS).where(_TRACKER_EVENTS.c.sender_id == str(sender_id))).rowcount
    finally:
        engine.dispose()


# ---------------------------------------------------------------- retention


def purge(factory: sessionmaker[Session], clock: Clock, *, policy: RetentionPolicy | None = None,
          upload_root: Path | None = None, tracker_url: str | None = None) -> dict[str, int]:
    """The retention job: anonymise finished cases, delete their evidence files, orphaned
    uploads, idle conversations and old WeChat rows. Idempotent; returns counts."""
    policy = policy or RetentionPolicy.from_env()
    root = (upload_root or upload_dir()).resolve()
    now = clock.now()
    out = {"cases_erased": 0, "evidence_files_removed": 0, "orphan_files_removed": 0,
           "tracker_events_deleted": 0, "wechat_rows_deleted": 0}
    finished_at = func.coalesce(Case.closed_at, Case.updated_at)
    if policy.case_days:
        with factory() as session:
            numbers = list(session.scalars(select(Case.case_no).where(
                Case.state.in_(FINISHED_STATES), Case.erased_at.is_(None),
                finished_at < now - timedelta(days=policy.case_days)).limit(500)))
        for case_no in numbers:
            with factory() as session:
                erase_case(session, case_no, clock=clock, upload_root=root, actor="system", reason="retention")
            out["cases_erased"] += 1
    if policy.upload_days:
        with factory() as session:
            out["evidence_files_removed"] = _purge_evidence(session, root, now - timedelta(days=policy.upload_days))
    out["orphan_files_removed"] = _purge_orphans(factory, root, now - ORPHAN_UPLOAD_AGE)
    if policy.wechat_days:
        with factory() as session:
            cutoff = now - timedelta(days=policy.wechat_days)

            def wechat() -> int:
                n = session.execute(delete(_WECHAT_INBOUND).where(_WECHAT_INBOUND.c.received_at < cutoff)).rowcount
                n += session.execute(delete(_WECHAT_OUTBOUND).where(
                    _WECHAT_OUTBOUND.c.state == "sent", _WECHAT_OUTBOUND.c.claimed_at < cutoff)).rowcount
                return n

            out["wechat_rows_deleted"] = run_in_transaction(session, wechat)
    if policy.tracker_days:
        out["tracker_events_deleted"] = _purge_trackers(tracker_url, now - timedelta(days=policy.tracker_days))
    if any(out.values()):
        log.info("retention purge: %s", ", ".join(f"{k}={v}" for k, v in out.items()))
    return out


def _purge_evidence(session: Session, root: Path, cutoff: datetime) -> int:
    finished_at = func.coalesce(Case.closed_at, Case.updated_at)
    paths: list[str] = []

    def run() -> None:
        paths.clear()
        rows = session.scalars(select(EvidenceFile).join(Case, Case.id == EvidenceFile.case_id).where(
            Case.state.in_(FINISHED_STATES), finished_at < cutoff, EvidenceFile.storage_path.is_not(None)))
        for ev in rows:
            paths.append(ev.storage_path)
            ev.storage_path, ev.description = None, ERASED_EVIDENCE_NOTE

    run_in_transaction(session, run)
    return _remove_files(root, paths)


def _purge_orphans(factory: sessionmaker[Session], root: Path, cutoff: datetime) -> int:
    """Files under the upload root that no evidence row points to, older than the cutoff."""
    if not root.is_dir():
        return 0
    limit = cutoff.timestamp()
    candidates = [p for p in root.rglob("*") if p.is_file() and p.stat().st_mtime < limit]
    if not candidates:
        return 0
    with factory() as session:
        known = set(session.scalars(select(EvidenceFile.storage_path).where(EvidenceFile.storage_path.is_not(None))))
    orphans = [p.relative_to(root).as_posix() for p in candidates if p.relative_to(root).as_posix() not in known]
    return _remove_files(root, orphans)


def _purge_trackers(tracker_url: str | None, cutoff: datetime) -> int:
    url = tracker_database_url() if tracker_url is None else tracker_url
    engine = _tracker_engine(url) if url else None
    if engine is None:
        return 0
    idle = (select(_TRACKER_EVENTS.c.sender_id).group_by(_TRACKER_EVENTS.c.sender_id)
            .having(func.max(_TRACKER_EVENTS.c.timestamp) < cutoff.timestamp()))
    try:
        with engine.begin() as conn:
            return conn.execute(delete(_TRACKER_EVENTS).where(_TRACKER_EVENTS.c.sender_id.in_(idle))).rowcount
    finally:
        engine.dispose()
