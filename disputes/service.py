"""Public API of the case service, for the chat actions and the web app.

Every function takes a SQLAlchemy Session (from `disputes.db.session_factory()`) and, where time
matters, a clock (`disputes.clock.SystemClock()` / `FrozenClock`). Mutating functions commit
their own transaction (retrying on write conflicts) and raise `CaseError` subclasses whose
`str()` is a Chinese message fit for the consumer. Reads check that the case belongs to the
sender on every call.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from disputes import dispatch, negotiation, texts
from disputes.clock import Clock, format_local, local_date
from disputes.config import load_platforms
from disputes.core import (
    authorize,
    case_events,
    citation_of,
    get_case,
    legal_basis_of,
    notify,
    platform_display,
)
from disputes.errors import (  # noqa: F401  (re-exported for callers)
    AccessDenied,
    CaseAccessError,
    CaseError,
    CaseNotFound,
    ConflictError,
    ConsentRequired,
    NoPendingOffer,
    OfferError,
    OfferExpired,
    ValidationError,
)
from disputes.models import (
    CHANNELS,
    REMEDIES,
    Case,
    CaseCounter,
    Consumer,
    Escalation,
    EvidenceFile,
    Merchant,
    Notification,
    Offer,
    Platform,
)
from disputes.states import OPEN_STATES, State, label, record_event, transition
from disputes.txn import run_in_transaction

CASE_NO_RE = re.compile(r"^ODR-\d{8}-\d{4,}$", re.IGNORECASE)
# Personal data lives on Consumer only; these keys are removed from the stored facts.
PERSONAL_KEYS = ("phone", "name", "address", "consent", "real_name", "id_card", "contact")

_REMEDY_WORDS = [
    ("退货退款", ("退货退款", "退款退货", "退货", "退款", "退钱", "全额退款")),
    ("换货", ("换货", "更换", "换一个", "换个", "换新")),
    ("维修", ("维修", "修理", "保修", "返修")),
    ("赔偿", ("赔偿", "三倍", "十倍", "退一赔三", "退一赔十", "惩罚性")),
    ("补偿", ("补偿", "部分退款", "差价", "优惠券", "红包")),
]


def normalise_remedy(text: str | None) -> str | None:
    """Map the consumer's wording (e.g. 「退一赔三」) to one of REMEDIES, or None."""
    if not text:
        return None
    t = str(text)
    if t in REMEDIES:
        return t
    for remedy, words in _REMEDY_WORDS:
        if remedy == "退货退款" and any(w in t for w in _REMEDY_WORDS[3][1]):
            continue  # 「退一赔三」 is a compensation claim, not a plain refund
        if any(w in t for w in words):
            return remedy
    return None


def normalise_phone(phone: Any) -> str | None:
    if phone in (None, ""):
        return None
    digits = re.sub(r"[^\d+]", "", str(phone))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not re.fullmatch(r"\d{5,15}", digits):
        raise ValidationError("bad phone", message_zh="电话号码格式不正确，请提供手机号或带区号的固定电话")
    return digits


def _money(raw: Any, field: str) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        value = Decimal(str(raw).replace("元", "").replace(",", "").strip())
    except InvalidOperation:
        raise ValidationError(f"bad {field}", message_zh="金额格式不正确，请只填写数字（单位：元）") from None
    if not value.is_finite() or value < 0 or value > Decimal("10000000"):
        raise ValidationError(f"bad {field}", message_zh="金额应在0到1000万元之间")
    return value.quantize(Decimal("0.01"))


def _iso_date(raw: Any, field: str) -> str | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    try:
        return date.fromisoformat(str(raw).strip()[:10]).isoformat()
    except ValueError:
        raise ValidationError(f"bad {field}", message_zh=f"日期格式不正确（{field}），请使用 2026-05-01 这样的格式") from None


def clean_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts as stored on the case: personal data removed, money and dates normalised."""
    if not isinstance(facts, dict):
        raise ValidationError("facts must be a dict", message_zh="投诉信息格式不正确")
    out = {k: v for k, v in facts.items() if k not in PERSONAL_KEYS}
    for key in ("order_date", "signed_date", "return_request_date", "complaint_date"):
        if key in out:
            out[key] = _iso_date(out[key], key)
    if "price_yuan" in out:
        price = _money(out["price_yuan"], "price_yuan")
        out["price_yuan"] = None if price is None else float(price)
    for key, value in list(out.items()):
        if isinstance(value, str):
            out[key] = value.strip()[:2000]
    return out


def _demanded_amount(remedy: str | None, facts: dict[str, Any], decision: dict[str, Any] | None) -> Decimal | None:
    """The total of the demand's items (negotiation.claim_items): for 「赔偿」 the refund, the actual
    loss and the punitive increment together, not the increment alone."""
    items = negotiation.claim_items(remedy, facts, decision)
    if not items:
        return None
    return sum((i["amount_yuan"] for i in items), Decimal("0")).quantize(Decimal("0.01"))


def allocate_case_no(session: Session, clock: Clock) -> str:
    """Next ODR-YYYYMMDD-NNNN for today's date in Shanghai. One atomic upsert on the per-day
    counter row: concurrent callers serialise on that row (PostgreSQL row lock, SQLite write
    lock), and the number is only used if the surrounding transaction commits."""
    day = local_date(clock.now()).strftime("%Y%m%d")
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = (
        insert(CaseCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=[CaseCounter.day], set_={"last": CaseCounter.last + 1})
        .returning(CaseCounter.last)
    )
    n = session.execute(stmt).scalar_one()
    return f"ODR-{day}-{n:04d}"


def _platform_row(session: Session, name: str | None, now: datetime) -> tuple[Platform, str | None]:
    cfgs = load_platforms()
    cfg = cfgs.match(name) or cfgs.unlisted
    row = session.scalars(select(Platform).where(Platform.key == cfg.key)).first()
    if row is None:
        row = Platform(key=cfg.key, name=cfg.name, connector=cfg.connector, created_at=now)
        session.add(row)
        session.flush()
    elif row.connector != cfg.connector or row.name != cfg.name:
        row.connector, row.name = cfg.connector, cfg.name
    return row, (name.strip() if name else None)


def _merchant_row(session: Session, platform: Platform, shop: str | None, address: str | None,
                  now: datetime) -> Merchant | None:
    if not shop:
        return None
    shop = str(shop).strip()[:255]
    row = session.scalars(select(Merchant).where(Merchant.platform_id == platform.id, Merchant.name == shop)).first()
    if row is None:
        row = Merchant(platform_id=platform.id, name=shop, address=address, created_at=now)
        session.add(row)
        session.flush()
    elif address and not row.address:
        row.address = address
    return row


def _consumer_row(session: Session, channel: str, sender_id: str, now: datetime) -> Consumer:
    row = session.scalars(
        select(Consumer).where(Consumer.channel == channel, Consumer.sender_id == sender_id)
    ).first()
    if row is None:
        row = Consumer(channel=channel, sender_id=sender_id, created_at=now)
        session.add(row)
        session.flush()
    return row


def submit_complaint(
    session: Session,
    *,
    channel: str,
    sender_id: str,
    facts: dict[str, Any],
    decision: dict[str, Any] | None,
    clock: Clock,
) -> Case:
    """File a complaint: stores the case as `submitted` (events: case_created, state_changed) and
    queues the opening of the negotiation with the platform. Requires facts["consent"] to be true
    (the consumer agreed that we keep their contact data and share the case with the platform)."""
    if channel not in CHANNELS:
        raise ValidationError(f"bad channel {channel!r}", message_zh="不支持的渠道")
    if not sender_id:
        raise ValidationError("sender_id missing", message_zh="无法识别您的身份，请重新进入对话")
    if not isinstance(facts, dict):
        raise ValidationError("facts must be a dict", message_zh="投诉信息格式不正确")
    if facts.get("consent") is not True:
        raise ConsentRequired("consent missing")
    if not (facts.get("problem") or facts.get("description")):
        raise ValidationError("problem missing", message_zh="请说明遇到的问题（问题类型或经过）")
    stored = clean_facts(facts)
    phone = normalise_phone(facts.get("phone"))
    remedy = normalise_remedy(facts.get("desired_remedy"))
    if remedy is None:
        for suggestion in (decision or {}).get("suggested_remedies") or []:
            remedy = normalise_remedy(suggestion if isinstance(suggestion, str) else str(suggestion))
            if remedy:
                break
    amount = _demanded_amount(remedy, stored, decision)
    decision = dict(decision) if decision else None

    def run() -> Case:
        now = clock.now()
        consumer = _consumer_row(session, channel, str(sender_id), now)
        if phone:
            consumer.phone = phone
        for key in ("name", "address"):
            if facts.get(key):
                setattr(consumer, key, str(facts[key]).strip()[:255])
        consumer.consent_at = now
        platform, platform_name = _platform_row(session, stored.get("platform"), now)
        merchant = _merchant_row(session, platform, stored.get("shop"), stored.get("shop_address"), now)
        case = Case(
            case_no=allocate_case_no(session, clock),
            state=State.DRAFT,
            channel=channel,
            sender_id=str(sender_id),
            consumer=consumer,
            platform=platform,
            merchant=merchant,
            platform_name=platform_name,
            facts=stored,
            decision=decision,
            demanded_remedy=remedy,
            demanded_amount=amount,
            round=0,
            created_at=now,
            updated_at=now,
        )
        session.add(case)
        session.flush()
        record_event(session, case, "case_created", actor="consumer", at=now,
                     payload={"channel": channel, "platform": platform.key, "shop": stored.get("shop"),
                              "demanded_remedy": remedy, "demanded_amount": None if amount is None else str(amount)})
        transition(session, case, State.SUBMITTED, actor="consumer", clock=clock, reason="consumer_submitted",
                   legal_basis=legal_basis_of(decision),
                   payload={"seven_day_return_eligible": (decision or {}).get("seven_day_return_eligible"),
                            "reason_codes": (decision or {}).get("reason_codes")})
        notify(session, case, texts.submitted(case.case_no), kind="submitted", clock=clock)
        dispatch.later(session, "open_case", case_no=case.case_no)
        return case

    return run_in_transaction(session, run)


def _offer_dict(o: Offer) -> dict[str, Any]:
    citation = citation_of(o.law, o.article)
    amount = None if o.amount is None else str(o.amount)
    summary = f"{o.remedy}" + (f" {texts.yuan(o.amount)}" if o.amount is not None else "")
    status_zh = {"pending": "待您答复", "accepted": "已接受", "rejected": "已拒绝", "expired": "已过期",
                 "withdrawn": "已撤回"}[o.status]
    summary += f"（{status_zh}"
    if o.status == "pending" and o.deadline is not None:
        summary += f"，请在 {format_local(o.deadline)} 前回复「接受」或「拒绝」"
    summary += "）"
    return {
        "id": o.id, "round": o.round, "source": o.source, "kind": o.kind, "amount": amount,
        "remedy": o.remedy, "deadline": format_local(o.deadline), "deadline_iso": o.deadline.isoformat() if o.deadline else None,
        "status": o.status, "status_label": status_zh, "law": o.law, "article": o.article, "citation": citation,
        "message": o.message, "summary": summary,
    }


_HIDDEN_EVENTS = {"webhook_retry", "webhook_failed", "offer_withdrawn"}


def _event_text(ev) -> str:
    p = ev.payload or {}
    if ev.type == "state_changed":
        return f"状态变为「{label(p.get('to', ''))}」"
    if ev.type == "offer_received":
        amount = f" {texts.yuan(p['amount'])}" if p.get("amount") else ""
        return f"收到和解方案：{p.get('remedy', '')}{amount}"
    if ev.type in ("consumer_message", "desk_message") and (p.get("text") or p.get("message")):
        return f"{texts.EVENT_LABELS[ev.type]}：{p.get('text') or p.get('message')}"
    if ev.type == "escalated":
        return "案件升级至平台人工客服" if p.get("tier") == "desk" else "案件升级：已生成12315投诉材料"
    return texts.EVENT_LABELS.get(ev.type, ev.type)


def _timeline(case: Case) -> list[dict[str, Any]]:
    out = []
    for ev in case_events(case):
        if ev.type in _HIDDEN_EVENTS:
            continue
        if ev.type == "webhook_delivered" and (ev.payload or {}).get("kind") != "settlement_request":
            continue
        out.append({
            "at": format_local(ev.at), "at_iso": ev.at.isoformat(), "type": ev.type, "text": _event_text(ev),
            "actor": texts.actor_label(ev.actor),
            "legal_basis": [b.get("citation") or f"《{b.get('law')}》第{b.get('article')}条" for b in ev.legal_basis or []],
        })
    return out


def _deadline_label(kind: str | None) -> str | None:
    return {"platform_response": "平台答复期限", "consumer_reply": "您答复方案的期限",
            "desk_sla": "平台人工客服处理期限"}.get(kind or "")


def status_dict(case: Case) -> dict[str, Any]:
    """Consumer-facing view of a case (no authorisation check: use `case_status`)."""
    pending = negotiation.pending_offer(case)
    package = next((e.package for e in reversed(case.escalations) if e.tier == "regulator" and e.package), None)
    return {
        "case_no": case.case_no,
        "state": case.state,
        "state_label": label(case.state),
        "platform": platform_display(case),
        "shop": case.facts.get("shop"),
        "product": case.facts.get("product"),
        "demanded_remedy": case.demanded_remedy,
        "demanded_amount": None if case.demanded_amount is None else str(case.demanded_amount),
        "round": case.round,
        "created_at": format_local(case.created_at),
        "next_deadline": format_local(case.next_deadline),
        "next_deadline_iso": case.next_deadline.isoformat() if case.next_deadline else None,
        "next_deadline_kind": case.deadline_kind,
        "next_deadline_label": _deadline_label(case.deadline_kind),
        "offers": [_offer_dict(o) for o in case.offers],
        "pending_offer": _offer_dict(pending) if pending else None,
        "timeline": _timeline(case),
        "evidence": [{"id": e.id, "filename": e.filename, "description": e.description} for e in case.evidence],
        "phone": case.consumer.masked_phone if case.consumer else None,
        "package_available": package is not None,
        "package_missing": [m["label"] for m in (package or {}).get("missing", [])],
    }


def case_record(session: Session, case_no: str) -> dict[str, Any] | None:
    """Everything stored with a case, for operators (CLI): facts, decision, state and timeline.
    Personal data stays on the consumer row and is not included."""
    try:
        case = get_case(session, case_no)
    except CaseNotFound:
        return None
    return {**status_dict(case), "facts": dict(case.facts or {}), "decision": case.decision}


def case_status(session: Session, case_no: str, *, sender_id: str, channel: str | None = None) -> dict[str, Any]:
    """State (Chinese label), next deadline, offers and timeline of the sender's own case.
    Raises CaseNotFound / AccessDenied (both CaseAccessError) otherwise."""
    case = get_case(session, case_no)
    authorize(case, sender_id, channel)
    return status_dict(case)


def latest_case(session: Session, sender_id: str, channel: str | None = None) -> Case | None:
    """The sender's most recent case, or None."""
    q = select(Case).where(Case.sender_id == str(sender_id))
    if channel:
        q = q.where(Case.channel == channel)
    return session.scalars(q.order_by(Case.created_at.desc(), Case.id.desc()).limit(1)).first()


def cases_filed_since(session: Session, sender_id: str, since: datetime) -> int:
    """How many complaints the sender filed from `since` on (the per-sender complaint limit)."""
    return int(session.scalar(
        select(func.count(Case.id)).where(Case.sender_id == str(sender_id), Case.created_at >= since)
    ) or 0)


def list_cases(session: Session, sender_id: str, channel: str | None = None) -> list[dict[str, Any]]:
    """Short list of the sender's cases, newest first."""
    q = select(Case).where(Case.sender_id == str(sender_id))
    if channel:
        q = q.where(Case.channel == channel)
    return [
        {"case_no": c.case_no, "state": c.state, "state_label": label(c.state), "platform": platform_display(c),
         "product": c.facts.get("product"), "created_at": format_local(c.created_at),
         "next_deadline": format_local(c.next_deadline)}
        for c in session.scalars(q.order_by(Case.created_at.desc(), Case.id.desc()))
    ]


def respond_to_offer(
    session: Session, case_no: str, *, sender_id: str, accept: bool, clock: Clock, channel: str | None = None
) -> dict[str, Any]:
    """The consumer's 「接受」/「拒绝」 to the pending offer. Accept → settled; reject → next round
    or escalation. Returns {case_no, state, state_label, offer_id, accepted, message}."""

    def run() -> dict[str, Any]:
        case = get_case(session, case_no, lock=True)
        authorize(case, sender_id, channel)
        return negotiation.consumer_answer(session, case, bool(accept), clock)

    return run_in_transaction(session, run)


def record_handoff(
    session: Session, case_no_or_sender: str, reason: str, clock: Clock, *, channel: str | None = None,
    sender_id: str | None = None,
) -> dict[str, Any]:
    """The consumer asked for a human. With a case number (or a sender whose latest case is open)
    the case goes to the platform's desk queue (escalated_desk); without a case, a handoff request
    is queued for the desk. `sender_id` is the consumer asking, as the conversation knows them
    (never a value they typed): with it, a case number must be one of their own cases and any
    other key must be their own id. Without it the key must be a sender id (trusted callers such
    as the desk). Raises AccessDenied otherwise. Returns {case_no, state, state_label, message}."""
    key = str(case_no_or_sender).strip()
    if sender_id is None and CASE_NO_RE.match(key):
        raise AccessDenied(f"hand-off for {key} without the sender asking")
    if sender_id is not None and not CASE_NO_RE.match(key) and key != str(sender_id):
        raise AccessDenied("hand-off asked for another sender's conversation")

    def run() -> dict[str, Any]:
        now = clock.now()
        if CASE_NO_RE.match(key):
            case = get_case(session, key, lock=True)
            authorize(case, str(sender_id), channel)
        else:
            case = latest_case(session, key, channel)
            if case is not None and case.state not in OPEN_STATES:
                case = None
            if case is not None:
                case = get_case(session, case.case_no, lock=True)
        if case is None:
            sender = None if CASE_NO_RE.match(key) else key
            record_event(session, None, "handoff_requested", actor="consumer", at=now,
                         payload={"sender_id": sender, "channel": channel, "reason": reason})
            session.add(Escalation(case_id=None, channel=channel, sender_id=sender, tier="desk",
                                   reason=str(reason)[:255], created_at=now))
            return {"case_no": None, "state": None, "state_label": None, "message": texts.handoff(None)}
        record_event(session, case, "handoff_requested", actor="consumer", at=now, payload={"reason": reason})
        if case.state in (State.SUBMITTED, State.NEGOTIATING):
            negotiation.escalate_to_desk(session, case, clock, reason="consumer_requested_human",
                                         reason_zh="您申请了人工客服", actor="consumer")
        return {"case_no": case.case_no, "state": case.state, "state_label": label(case.state),
                "message": texts.handoff(case.case_no)}

    return run_in_transaction(session, run)


def update_contact(
    session: Session, case_no: str, *, sender_id: str, clock: Clock, name: str | None = None,
    phone: str | None = None, address: str | None = None, shop_address: str | None = None,
) -> dict[str, Any]:
    """Add what the 12315 package lists as 待补充 (name, address, the shop's address)."""
    phone_n = normalise_phone(phone) if phone else None

    def run() -> dict[str, Any]:
        case = get_case(session, case_no, lock=True)
        authorize(case, sender_id)
        changed = []
        for field, value in (("name", name), ("phone", phone_n), ("address", address)):
            if value:
                setattr(case.consumer, field, str(value).strip()[:255])
                changed.append(field)
        if shop_address and case.merchant is not None:
            case.merchant.address = str(shop_address).strip()[:255]
            changed.append("shop_address")
        if changed:
            record_event(session, case, "contact_updated", actor="consumer", at=clock.now(),
                         payload={"fields": changed})
            _refresh_package(session, case, clock)
        return status_dict(case)

    return run_in_transaction(session, run)


def _refresh_package(session: Session, case: Case, clock: Clock) -> None:
    esc = next((e for e in reversed(case.escalations) if e.tier == "regulator"), None)
    if esc is not None:
        from disputes.export12315 import build_package, snapshot

        session.flush()
        esc.package = snapshot(build_package(session, case.case_no, now=clock.now()))


def add_evidence(
    session: Session, case_no: str, *, sender_id: str, filename: str, clock: Clock,
    content_type: str | None = None, size: int | None = None, sha256: str | None = None,
    storage_path: str | None = None, description: str | None = None,
) -> dict[str, Any]:
    """Register an uploaded evidence file (the web layer stores the bytes)."""

    def run() -> dict[str, Any]:
        case = get_case(session, case_no, lock=True)
        authorize(case, sender_id)
        now = clock.now()
        ev = EvidenceFile(case_id=case.id, filename=str(filename)[:255], content_type=content_type, size=size,
                          sha256=sha256, storage_path=storage_path, description=description, uploaded_at=now)
        case.evidence.append(ev)
        session.flush()
        record_event(session, case, "evidence_added", actor="consumer", at=now,
                     payload={"evidence_id": ev.id, "filename": ev.filename, "sha256": sha256})
        _refresh_package(session, case, clock)
        return {"id": ev.id, "filename": ev.filename, "case_no": case.case_no}

    return run_in_transaction(session, run)


def evidence_usage(session: Session, case_no: str, *, sender_id: str, since: datetime) -> dict[str, int]:
    """Evidence the sender has stored, for the upload quotas: on this case (files, bytes) and on all
    their cases from `since` on (files, bytes). The case must be the sender's own."""
    case = get_case(session, case_no)
    authorize(case, sender_id)
    count, total = func.count(EvidenceFile.id), func.coalesce(func.sum(EvidenceFile.size), 0)
    case_files, case_bytes = session.execute(select(count, total).where(EvidenceFile.case_id == case.id)).one()
    day_files, day_bytes = session.execute(
        select(count, total).join(Case, Case.id == EvidenceFile.case_id)
        .where(Case.sender_id == str(sender_id), EvidenceFile.uploaded_at >= since)
    ).one()
    return {"case_files": int(case_files), "case_bytes": int(case_bytes), "day_files": int(day_files),
            "day_bytes": int(day_bytes)}


def withdraw_case(session: Session, case_no: str, *, sender_id: str, clock: Clock,
                  reason: str = "消费者撤回投诉") -> dict[str, Any]:
    """The consumer withdraws (or confirms the end of) a case → closed."""

    def run() -> dict[str, Any]:
        case = get_case(session, case_no, lock=True)
        authorize(case, sender_id)
        if case.state == State.CLOSED:
            return status_dict(case)
        now = clock.now()
        for o in case.offers:
            if o.status == "pending":
                o.status, o.responded_at = "withdrawn", now
        transition(session, case, State.CLOSED, actor="consumer", clock=clock, reason=reason)
        return status_dict(case)

    return run_in_transaction(session, run)


# A human holds the conversation after the consumer asked for one or an agent took over, until the
# consumer goes back to the bot or the case leaves the desk.
_HUMAN_MODE_EVENTS = {"handoff_requested", "desk_takeover"}
MAX_CONSUMER_MESSAGE = 2000


def human_conversation(session: Session, sender_id: str, channel: str | None = None) -> str | None:
    """Case number whose conversation the platform's human desk holds for this sender, else None."""
    case = latest_case(session, sender_id, channel)
    if case is None or case.state != State.ESCALATED_DESK:
        return None
    for ev in reversed(case_events(case)):
        if ev.type == "bot_resumed":
            return None
        if ev.type in _HUMAN_MODE_EVENTS:
            return case.case_no
    return None


def record_consumer_message(session: Session, case_no: str, *, sender_id: str, text: str, clock: Clock,
                            channel: str | None = None) -> None:
    """A chat message written while a human holds the conversation: kept on the case for the desk."""

    def run() -> None:
        case = get_case(session, case_no, lock=True)
        authorize(case, sender_id, channel)
        record_event(session, case, "consumer_message", actor="consumer", at=clock.now(),
                     payload={"text": text[:MAX_CONSUMER_MESSAGE]})

    run_in_transaction(session, run)


def resume_bot(session: Session, case_no: str, *, sender_id: str, clock: Clock, channel: str | None = None) -> None:
    """The consumer goes back to the assistant; the case stays with the desk."""

    def run() -> None:
        case = get_case(session, case_no, lock=True)
        authorize(case, sender_id, channel)
        record_event(session, case, "bot_resumed", actor="consumer", at=clock.now(), payload={})

    run_in_transaction(session, run)


def pending_notifications(session: Session, channel: str, recipient: str) -> list[dict[str, Any]]:
    """Undelivered messages for one consumer, oldest first: [{id, case_no, kind, text, created_at}]."""
    rows = session.execute(
        select(Notification, Case.case_no)
        .outerjoin(Case, Case.id == Notification.case_id)
        .where(Notification.channel == channel, Notification.recipient == str(recipient),
               Notification.delivered_at.is_(None))
        .order_by(Notification.id)
    ).all()
    return [
        {"id": n.id, "case_no": case_no, "kind": n.kind, "text": n.text, "created_at": format_local(n.created_at),
         "created_at_iso": n.created_at.isoformat()}
        for n, case_no in rows
    ]


def pending_recipients(session: Session, channel: str) -> list[str]:
    """Recipients with undelivered messages on a channel (for the WeChat push loop)."""
    return list(session.scalars(
        select(Notification.recipient).where(Notification.channel == channel, Notification.delivered_at.is_(None))
        .distinct()
    ))


def mark_delivered(
    session: Session, ids: list[int], clock: Clock, *, channel: str | None = None, recipient: str | None = None
) -> int:
    """Mark notifications delivered (idempotent). Restrict to a recipient when given; returns the count."""

    def run() -> int:
        q = select(Notification).where(Notification.id.in_([int(i) for i in ids]), Notification.delivered_at.is_(None))
        if channel:
            q = q.where(Notification.channel == channel)
        if recipient is not None:
            q = q.where(Notification.recipient == str(recipient))
        now = clock.now()
        rows = list(session.scalars(q))
        for n in rows:
            n.delivered_at = now
        return len(rows)

    if not ids:
        return 0
    return run_in_transaction(session, run)
