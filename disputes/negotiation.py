"""Negotiation and escalation: settlement requests to platforms, their answers, the consumer's
answers, bounded rounds with deadlines, and the two escalation tiers (desk, 12315 package)."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from disputes import delivery, texts
from disputes.clock import SHANGHAI, Clock, format_local
from disputes.config import PlatformConfig
from disputes.core import (
    case_events,
    citation_of,
    legal_basis_of,
    notify,
    platform_config,
    platform_display,
)
from disputes.errors import ConflictError, NoPendingOffer, OfferExpired, ValidationError
from disputes.models import REMEDIES, Case, Escalation, Offer
from disputes.states import OFFER_STATES, State, label, record_event, transition
from disputes.txn import run_in_transaction

log = logging.getLogger(__name__)

PLATFORM_ACTIONS = ("accept", "counter_offer", "reject", "request_info")
# Facts a platform needs to handle the claim; personal data (name, phone, address) stays with us.
SHARED_FACT_KEYS = (
    "shop", "order_id", "product", "category", "quantity", "price_yuan", "order_date", "signed_date",
    "return_request_date", "problem", "description", "desired_remedy",
)
MAX_AMOUNT = Decimal("10000000")


# ---------------------------------------------------------------- settlement requests


def settlement_request(case: Case, cfg: PlatformConfig, deadline: datetime, now: datetime) -> dict[str, Any]:
    """The JSON the platform receives: claim, minimal facts, evidence list, decision, deadline."""
    facts = {k: case.facts.get(k) for k in SHARED_FACT_KEYS if case.facts.get(k) not in (None, "")}
    return {
        "version": "1",
        "case_no": case.case_no,
        "platform": cfg.key,
        "round": case.round,
        "max_rounds": cfg.max_rounds,
        "merchant": {"name": case.merchant.name if case.merchant else case.facts.get("shop")},
        "claim": {
            "remedy": case.demanded_remedy,
            "amount_yuan": str(case.demanded_amount) if case.demanded_amount is not None else None,
            "text": _claim_text(case),
            "items": [
                {**i, "amount_yuan": str(i["amount_yuan"])}
                for i in claim_items(case.demanded_remedy, case.facts, case.decision)
            ],
        },
        "facts": facts,
        "evidence": [
            {"id": e.id, "filename": e.filename, "content_type": e.content_type, "size": e.size,
             "sha256": e.sha256, "description": e.description}
            for e in case.evidence
        ],
        "decision": case.decision,
        "legal_basis": legal_basis_of(case.decision),
        "response_deadline": deadline.isoformat(),
        "respond_to": {
            "path": f"/api/platform/v1/cases/{case.case_no}/responses",
            "actions": list(PLATFORM_ACTIONS),
        },
        "sent_at": now.isoformat(),
    }


def _claim_text(case: Case) -> str:
    remedy = case.demanded_remedy or case.facts.get("desired_remedy") or "依法处理"
    items = claim_items(case.demanded_remedy, case.facts, case.decision)
    if remedy == "赔偿" and items:
        return f"消费者请求：赔偿，{texts.claim_breakdown(items)}"
    money = f"{texts.yuan(case.demanded_amount)}" if case.demanded_amount is not None else ""
    return f"消费者请求：{remedy}{money}"


def _amount(raw: Any) -> Decimal | None:
    """A stored money figure as a non-negative Decimal, or None when absent or unusable."""
    if raw in (None, "") or isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw).replace("元", "").replace(",", "").strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        return None
    return value.quantize(Decimal("0.01"))


_CN_TIMES = {2: "二", 3: "三", 10: "十"}


def _punitive_note(punitive: dict[str, Any]) -> str:
    """How the increment is computed, in the statute's terms (e.g. 价款199.00元的三倍，不足500元的为500元)."""
    multiple = int(punitive.get("multiple") or 0)
    times = _CN_TIMES.get(multiple, str(multiple))
    base = _amount(punitive.get("base_yuan"))
    measure = ("所受损失" if punitive.get("up_to") else "损失") if punitive.get("measure") == "loss" else "价款"
    of = f"{measure}{texts.yuan(base)}的" if base is not None else f"{measure}的"
    if punitive.get("up_to"):
        return f"{of}{times}倍以下，按上限计"
    note = f"{of}{times}倍"
    floor = _amount(punitive.get("minimum_yuan"))
    if floor:
        floor_text = f"{floor.normalize():f}"
        note += f"，不足{floor_text}元的为{floor_text}元"
    return note


def claim_items(remedy: str | None, facts: dict[str, Any] | None,
                decision: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The money a demand is made of, item by item: [{kind, label, amount_yuan, note, basis}].

    A 「赔偿」 demand is the price back, the actual loss (facts `loss_yuan`, when known) and the
    punitive increment: 消法第五十五条 and 食品安全法第一百四十八条 grant the increment in addition
    to the refund and the loss, so claiming the increment alone would give up the rest. A
    「退货退款」 demand is the price. Other remedies carry no computed amount."""
    facts = facts or {}
    price = _amount(facts.get("price_yuan"))
    refund = {"kind": "refund", "label": "退还货款", "amount_yuan": price, "note": None, "basis": []}
    if remedy == "退货退款":
        return [refund] if price is not None else []
    if remedy != "赔偿":
        return []
    items: list[dict[str, Any]] = []
    if price is not None and price > 0 and facts.get("refund_paid") is not True:
        items.append(refund)
    loss = _amount(facts.get("loss_yuan"))
    if loss is not None and loss > 0:
        items.append({"kind": "loss", "label": "赔偿实际损失", "amount_yuan": loss, "note": None, "basis": []})
    punitive = (decision or {}).get("punitive")
    if isinstance(punitive, dict):
        amount = _amount(punitive.get("amount_yuan"))
        if amount is not None and amount > 0 and punitive.get("multiple"):
            basis = [
                {"law": b["law"], "article": int(b["article"]), "citation": cit}
                for b in punitive.get("basis") or []
                if isinstance(b, dict) and (cit := citation_of(b.get("law"), b.get("article")))
            ]
            label = "惩罚性赔偿" if punitive.get("up_to") else "增加赔偿"
            items.append({"kind": "punitive", "label": label, "amount_yuan": amount,
                          "note": _punitive_note(punitive), "basis": basis})
    return items


def _send_round(session: Session, case: Case, cfg: PlatformConfig, clock: Clock) -> datetime:
    now = clock.now()
    deadline = cfg.response_deadline.after(now)
    if cfg.connector == "webhook":
        d = delivery.enqueue(session, case, cfg, "settlement_request", settlement_request(case, cfg, deadline, now), clock)
        record_event(
            session, case, "settlement_requested", actor="system", at=now,
            payload={"round": case.round, "deadline": deadline.isoformat(), "connector": "webhook",
                     "idempotency_key": d.idempotency_key, "delivery_id": d.id},
            legal_basis=legal_basis_of(case.decision),
        )
    else:
        record_event(
            session, case, "desk_queued", actor="system", at=now,
            payload={"round": case.round, "deadline": deadline.isoformat(), "connector": "desk",
                     "platform": cfg.key},
            legal_basis=legal_basis_of(case.decision),
        )
    case.next_deadline, case.deadline_kind = deadline, "platform_response"
    return deadline


def open_negotiation(session: Session, case: Case, clock: Clock, *, actor: str = "system") -> bool:
    """submitted → negotiating: send round 1 to the platform's connector. No-op otherwise."""
    if case.state != State.SUBMITTED:
        return False
    cfg = platform_config(case)
    case.round = 1
    transition(
        session, case, State.NEGOTIATING, actor=actor, clock=clock, reason="negotiation_opened",
        payload={"connector": cfg.connector, "platform": cfg.key, "round": 1},
    )
    deadline = _send_round(session, case, cfg, clock)
    notify(session, case, texts.settlement_sent(case.case_no, platform_display(case), deadline),
           kind="settlement_sent", clock=clock)
    return True


def open_submitted(factory: sessionmaker[Session], clock: Clock, case_no: str | None = None) -> list[str]:
    """Open negotiation for one case or every case still `submitted` (each in its own transaction)."""
    with factory() as session:
        q = select(Case.case_no).where(Case.state == State.SUBMITTED)
        if case_no:
            q = q.where(Case.case_no == case_no)
        numbers = list(session.scalars(q.order_by(Case.id).limit(500)))
    opened = []
    for no in numbers:
        with factory() as session:

            def run(no: str = no) -> bool:
                case = session.scalars(select(Case).where(Case.case_no == no).with_for_update()).one()
                return open_negotiation(session, case, clock)

            if run_in_transaction(session, run):
                opened.append(no)
    return opened


# ---------------------------------------------------------------- platform answers


def _decimal(raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"bad amount {raw!r}", message_zh="amount 必须是数字（单位：元）") from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise ValidationError(f"amount out of range {raw!r}", message_zh="amount 必须在0到1000万元之间")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError("too many decimals", message_zh="amount 最多保留两位小数（单位：元）")
    return value.quantize(Decimal("0.01"))


def validate_platform_answer(data: Any) -> dict[str, Any]:
    """Check a platform's answer before anything is changed; raises ValidationError (Chinese)."""
    if not isinstance(data, dict):
        raise ValidationError("body is not an object", message_zh="请求体必须是JSON对象")
    action = data.get("action")
    if action not in PLATFORM_ACTIONS:
        raise ValidationError(
            f"bad action {action!r}", message_zh="action 必须是 accept、counter_offer、reject 或 request_info 之一"
        )
    out: dict[str, Any] = {"action": action}
    if data.get("round") is not None:
        if not isinstance(data["round"], int) or isinstance(data["round"], bool) or data["round"] < 1:
            raise ValidationError("bad round", message_zh="round 必须是正整数")
        out["round"] = data["round"]
    message = data.get("message")
    if message is not None:
        if not isinstance(message, str) or len(message) > 1000:
            raise ValidationError("bad message", message_zh="message 必须是不超过1000字的文本")
        out["message"] = message.strip()
    remedy = data.get("remedy")
    if remedy is not None and remedy not in REMEDIES:
        raise ValidationError(f"bad remedy {remedy!r}", message_zh="remedy 必须是 退货退款、换货、维修、补偿、赔偿 之一")
    if action == "counter_offer":
        if data.get("amount") is None and remedy in (None, "退货退款", "补偿", "赔偿"):
            raise ValidationError("amount missing", message_zh="counter_offer 需要提供 amount（单位：元）")
        if remedy is None:
            raise ValidationError("remedy missing", message_zh="counter_offer 需要提供 remedy")
    if data.get("amount") is not None:
        out["amount"] = _decimal(data["amount"])
    if remedy is not None:
        out["remedy"] = remedy
    law, article = data.get("law"), data.get("article")
    if law is not None or article is not None:
        if not isinstance(law, str) or not isinstance(article, int) or isinstance(article, bool):
            raise ValidationError("bad citation", message_zh="law 须为法律名称、article 须为条号（整数），两者同时提供")
        if citation_of(law, article) is None:
            raise ValidationError("unknown citation", message_zh=f"所引《{law}》第{article}条在法规库中不存在")
        out["law"], out["article"] = law, article
    return out


def apply_platform_answer(
    session: Session, case: Case, answer: dict[str, Any], clock: Clock, *, actor: str
) -> dict[str, Any]:
    """Apply a validated platform (or desk) answer to the case; returns a summary for the caller."""
    if case.state not in OFFER_STATES:
        raise ConflictError(
            f"{case.case_no} is {case.state}", message_zh=f"案件当前为「{label(case.state)}」，不再接受答复"
        )
    if answer.get("round") is not None and answer["round"] != case.round:
        raise ConflictError(
            f"round {answer['round']} != {case.round}",
            message_zh=f"答复针对第{answer['round']}轮，但案件当前为第{case.round}轮",
        )
    now = clock.now()
    cfg = platform_config(case)
    source = "desk" if actor.startswith("desk") else "platform"
    action = answer["action"]
    platform_name = platform_display(case)
    result: dict[str, Any] = {"case_no": case.case_no, "action": action}
    if action == "accept":
        remedy = answer.get("remedy") or case.demanded_remedy or "退货退款"
        amount = answer.get("amount", case.demanded_amount)
        _withdraw_pending(session, case, now)
        offer = Offer(
            case_id=case.id, round=case.round, source=source, kind="accept", amount=amount, remedy=remedy,
            deadline=None, law=answer.get("law"), article=answer.get("article"), message=answer.get("message"),
            status="accepted", created_at=now, responded_at=now,
        )
        case.offers.append(offer)  # keeps the loaded collection in step
        session.flush()
        basis = _offer_basis(offer) or legal_basis_of(case.decision)
        record_event(session, case, "platform_accepted", actor=actor, at=now,
                     payload={"offer_id": offer.id, "remedy": remedy, "amount": _s(amount),
                              "message": answer.get("message")}, legal_basis=basis)
        transition(session, case, State.SETTLED, actor=actor, clock=clock, reason="platform_accepted",
                   legal_basis=basis, payload={"offer_id": offer.id})
        _resolve_escalations(case, now)
        notify(session, case, texts.platform_accepted(case.case_no, platform_name, remedy, amount),
               kind="settled", clock=clock)
        result["offer_id"] = offer.id
    elif action == "counter_offer":
        _withdraw_pending(session, case, now)
        deadline = cfg.consumer_reply.after(now)
        offer = Offer(
            case_id=case.id, round=case.round, source=source, kind="counter_offer", amount=answer.get("amount"),
            remedy=answer["remedy"], deadline=deadline, law=answer.get("law"), article=answer.get("article"),
            message=answer.get("message"), status="pending", created_at=now,
        )
        case.offers.append(offer)  # keeps the loaded collection in step
        session.flush()
        record_event(session, case, "offer_received", actor=actor, at=now,
                     payload={"offer_id": offer.id, "round": case.round, "remedy": offer.remedy,
                              "amount": _s(offer.amount), "deadline": deadline.isoformat(),
                              "message": offer.message}, legal_basis=_offer_basis(offer))
        case.next_deadline, case.deadline_kind, case.updated_at = deadline, "consumer_reply", now
        notify(session, case, texts.offer(case.case_no, platform_name, offer.amount, offer.remedy, deadline,
                                          citation_of(offer.law, offer.article), offer.message),
               kind="offer", clock=clock)
        result["offer_id"] = offer.id
    elif action == "reject":
        _withdraw_pending(session, case, now)
        record_event(session, case, "platform_rejected", actor=actor, at=now,
                     payload={"message": answer.get("message"), "round": case.round})
        notify(session, case, texts.platform_rejected(case.case_no, platform_name, answer.get("message")),
               kind="rejected", clock=clock)
        escalate_next_tier(session, case, clock, reason="platform_rejected", reason_zh="平台拒绝了您的诉求")
    else:  # request_info
        record_event(session, case, "info_requested", actor=actor, at=now,
                     payload={"message": answer.get("message"), "round": case.round})
        case.updated_at = now
        notify(session, case, texts.info_requested(case.case_no, platform_name, answer.get("message")),
               kind="info_requested", clock=clock)
    result.update(state=case.state, state_label=label(case.state), round=case.round)
    return result


def _s(v: Any) -> str | None:
    return None if v is None else str(v)


def _offer_basis(offer: Offer) -> list[dict[str, Any]]:
    if not offer.law or not offer.article:
        return []
    entry: dict[str, Any] = {"law": offer.law, "article": offer.article}
    cit = citation_of(offer.law, offer.article)
    if cit:
        entry["citation"] = cit
    return [entry]


def _withdraw_pending(session: Session, case: Case, now: datetime) -> None:
    for o in case.offers:
        if o.status == "pending":
            o.status, o.responded_at = "withdrawn", now
            record_event(session, case, "offer_withdrawn", actor="system", at=now, payload={"offer_id": o.id})


def _resolve_escalations(case: Case, now: datetime) -> None:
    for e in case.escalations:
        if e.resolved_at is None and e.tier == "desk":
            e.resolved_at = now


# ---------------------------------------------------------------- consumer answers


def pending_offer(case: Case) -> Offer | None:
    pend = [o for o in case.offers if o.status == "pending"]
    return pend[-1] if pend else None


def consumer_answer(session: Session, case: Case, accept: bool, clock: Clock) -> dict[str, Any]:
    """The consumer accepts (→ settled) or rejects (→ next round, or escalation) the pending offer."""
    now = clock.now()
    offer = pending_offer(case)
    if offer is None or case.state not in OFFER_STATES:
        raise NoPendingOffer(f"{case.case_no} has no pending offer")
    if offer.deadline is not None and offer.deadline < now:
        raise OfferExpired(
            f"offer {offer.id} expired", message_zh=f"该方案的答复期限已于 {format_local(offer.deadline)} 届满"
        )
    cfg = platform_config(case)
    offer.responded_at = now
    if accept:
        offer.status = "accepted"
        basis = _offer_basis(offer) or legal_basis_of(case.decision)
        record_event(session, case, "offer_accepted", actor="consumer", at=now,
                     payload={"offer_id": offer.id, "remedy": offer.remedy, "amount": _s(offer.amount)},
                     legal_basis=basis)
        transition(session, case, State.SETTLED, actor="consumer", clock=clock, reason="consumer_accepted",
                   legal_basis=basis, payload={"offer_id": offer.id})
        _resolve_escalations(case, now)
        _tell_platform(session, case, cfg, {"offer_id": offer.id, "answer": "accepted"}, clock)
        message = texts.consumer_accepted(case.case_no, offer.remedy, offer.amount)
        notify(session, case, message, kind="settled", clock=clock)
        return {"case_no": case.case_no, "state": case.state, "state_label": label(case.state),
                "offer_id": offer.id, "accepted": True, "message": message}
    offer.status = "rejected"
    record_event(session, case, "offer_rejected", actor="consumer", at=now, payload={"offer_id": offer.id})
    _tell_platform(session, case, cfg, {"offer_id": offer.id, "answer": "rejected"}, clock)
    message = _after_rejection(session, case, cfg, clock, reason="consumer_rejected",
                               reason_zh="您拒绝了平台的方案")
    return {"case_no": case.case_no, "state": case.state, "state_label": label(case.state),
            "offer_id": offer.id, "accepted": False, "message": message}


def _after_rejection(session: Session, case: Case, cfg: PlatformConfig, clock: Clock, *, reason: str,
                     reason_zh: str) -> str:
    """Another round while rounds remain, else the next escalation tier. Returns the notice text."""
    if case.round < cfg.max_rounds:
        case.round += 1
        record_event(session, case, "round_started", actor="system", at=clock.now(),
                     payload={"round": case.round, "reason": reason})
        if case.state == State.NEGOTIATING:
            deadline = _send_round(session, case, cfg, clock)
        else:  # at the desk: the SLA clock keeps running, agents may make another offer
            esc = _open_escalation(case, "desk")
            deadline = esc.sla_deadline if esc and esc.sla_deadline else cfg.desk_sla.after(clock.now())
            case.next_deadline, case.deadline_kind = deadline, "desk_sla"
        text = texts.next_round(case.case_no, case.round, cfg.max_rounds, deadline)
        notify(session, case, text, kind="next_round", clock=clock)
        return text
    return escalate_next_tier(session, case, clock, reason=reason + "_rounds_exhausted",
                              reason_zh=f"{reason_zh}，且协商已达{cfg.max_rounds}轮上限")


def _tell_platform(session: Session, case: Case, cfg: PlatformConfig, data: dict[str, Any], clock: Clock) -> None:
    if cfg.connector == "webhook":
        delivery.enqueue(session, case, cfg, "consumer_response",
                         {"version": "1", "case_no": case.case_no, "round": case.round, **data}, clock)


# ---------------------------------------------------------------- escalation


def _open_escalation(case: Case, tier: str) -> Escalation | None:
    for e in reversed(case.escalations):
        if e.tier == tier and e.resolved_at is None:
            return e
    return None


def escalate_next_tier(session: Session, case: Case, clock: Clock, *, reason: str, reason_zh: str) -> str:
    """negotiating → escalated_desk; escalated_desk → escalated_regulator. Returns the notice."""
    if case.state in (State.SUBMITTED, State.NEGOTIATING):
        return escalate_to_desk(session, case, clock, reason=reason, reason_zh=reason_zh)
    if case.state == State.ESCALATED_DESK:
        return escalate_to_regulator(session, case, clock, reason=reason)
    raise ConflictError(f"cannot escalate from {case.state}",
                        message_zh=f"案件当前为「{label(case.state)}」，无法升级")


def escalate_to_desk(session: Session, case: Case, clock: Clock, *, reason: str, reason_zh: str,
                     actor: str = "system") -> str:
    """Tier 1: the platform's human service desk, with an SLA deadline (platforms.yaml desk_sla)."""
    now = clock.now()
    cfg = platform_config(case)
    sla = cfg.desk_sla.after(now)
    _expire_pending(session, case, now, reason="escalated")
    esc = Escalation(case_id=case.id, platform_id=case.platform_id, channel=case.channel,
                     sender_id=case.sender_id, tier="desk", reason=reason, created_at=now, sla_deadline=sla)
    case.escalations.append(esc)
    case.round = 1
    transition(session, case, State.ESCALATED_DESK, actor=actor, clock=clock, reason=reason,
               payload={"sla_deadline": sla.isoformat(), "tier": 1})
    case.next_deadline, case.deadline_kind = sla, "desk_sla"
    record_event(session, case, "escalated", actor=actor, at=now,
                 payload={"tier": "desk", "reason": reason, "sla_deadline": sla.isoformat()})
    text = texts.escalated_desk(case.case_no, platform_display(case), reason_zh, sla)
    notify(session, case, text, kind="escalated", clock=clock)
    if cfg.connector == "webhook":
        delivery.enqueue(session, case, cfg, "case_escalated",
                         {"version": "1", "case_no": case.case_no, "tier": "desk", "reason": reason,
                          "sla_deadline": sla.isoformat()}, clock)
    return text


def escalate_to_regulator(session: Session, case: Case, clock: Clock, *, reason: str,
                          actor: str = "system") -> str:
    """Tier 2: build the 12315 package (第十条 fields, timeline, evidence, legal basis; a separate
    举报 part, or a report only, when the decision says so)."""
    from disputes.export12315 import build_package, missing_labels, snapshot

    now = clock.now()
    _expire_pending(session, case, now, reason="escalated")
    _resolve_escalations(case, now)
    transition(session, case, State.ESCALATED_REGULATOR, actor=actor, clock=clock, reason=reason,
               payload={"tier": 2})
    session.flush()
    package = build_package(session, case.case_no, now=now)
    esc = Escalation(case_id=case.id, platform_id=case.platform_id, channel=case.channel,
                     sender_id=case.sender_id, tier="regulator", reason=reason, created_at=now,
                     package=snapshot(package))
    case.escalations.append(esc)
    missing = missing_labels(package)
    kind = package.get("kind", "complaint")
    article = 28 if kind == "report" else 10
    record_event(session, case, "package_built", actor="system", at=now,
                 payload={"format": package["format"], "kind": kind, "missing": missing},
                 legal_basis=[{"law": "市场监督管理投诉举报处理办法", "article": article,
                               "citation": citation_of("市场监督管理投诉举报处理办法", article)}])
    record_event(session, case, "escalated", actor=actor, at=now, payload={"tier": "regulator", "reason": reason})
    text = texts.escalated_regulator(case.case_no, missing, kind)
    notify(session, case, text, kind="package_ready", clock=clock)
    return text


def _expire_pending(session: Session, case: Case, now: datetime, *, reason: str) -> None:
    for o in case.offers:
        if o.status == "pending":
            o.status, o.responded_at = "expired", now
            record_event(session, case, "offer_expired", actor="system", at=now,
                         payload={"offer_id": o.id, "reason": reason})


def escalate_after_failed_delivery(session: Session, case: Case, clock: Clock) -> None:
    """The platform's endpoint stayed unreachable: a human has to take over."""
    if case.state == State.NEGOTIATING:
        escalate_to_desk(session, case, clock, reason="webhook_undeliverable", reason_zh="平台系统暂时无法接收请求")


# ---------------------------------------------------------------- deadlines and reminders


def handle_deadline(session: Session, case: Case, clock: Clock) -> str | None:
    """Apply the consequence of an elapsed `next_deadline`; returns what happened (or None)."""
    now = clock.now()
    if case.next_deadline is None or case.next_deadline > now or case.state not in OFFER_STATES:
        return None
    cfg = platform_config(case)
    kind = case.deadline_kind
    if kind == "consumer_reply":
        offer = pending_offer(case)
        if offer is not None:
            offer.status, offer.responded_at = "expired", now
            record_event(session, case, "offer_expired", actor="system", at=now,
                         payload={"offer_id": offer.id, "reason": "consumer_no_reply"})
        _after_rejection(session, case, cfg, clock, reason="consumer_no_reply",
                         reason_zh="您未在期限内答复平台的方案")
        return "offer_expired"
    if case.state == State.NEGOTIATING:
        escalate_to_desk(session, case, clock, reason="platform_no_response",
                         reason_zh="平台未在期限内答复")
        return "escalated_desk"
    escalate_to_regulator(session, case, clock, reason="desk_sla_expired")
    return "escalated_regulator"


def process_deadlines(factory: sessionmaker[Session], clock: Clock) -> dict[str, str]:
    """Escalate every overdue case (one transaction per case; safe to run from several workers)."""
    with factory() as session:
        numbers = list(session.scalars(
            select(Case.case_no)
            .where(Case.state.in_([State.NEGOTIATING, State.ESCALATED_DESK]),
                   Case.next_deadline.is_not(None), Case.next_deadline <= clock.now())
            .order_by(Case.next_deadline).limit(500)
        ))
    done: dict[str, str] = {}
    for no in numbers:
        with factory() as session:

            def run(no: str = no) -> str | None:
                case = session.scalars(select(Case).where(Case.case_no == no).with_for_update()).one()
                return handle_deadline(session, case, clock)

            try:
                outcome = run_in_transaction(session, run)
            except Exception:
                log.exception("deadline handling failed for %s", no)
                continue
            if outcome:
                done[no] = outcome
    return done


def seven_day_window_end(case: Case) -> datetime | None:
    """End of the seven-day no-reason return window: the period starts the day after 签收
    (七日无理由退货暂行办法 第十条), so it ends at 24:00 of signed_date + 7 days (Shanghai)."""
    if not (case.decision or {}).get("seven_day_return_eligible"):
        return None
    signed = case.facts.get("signed_date")
    if not signed:
        return None
    try:
        from datetime import date

        day = date.fromisoformat(str(signed)[:10])
    except ValueError:
        return None
    return datetime.combine(day + timedelta(days=8), time(0, 0), tzinfo=SHANGHAI)


def _reminder_due(case: Case, now: datetime) -> datetime | None:
    """The window end if a reminder is due now (inside the lead time, not yet sent), else None."""
    end = seven_day_window_end(case)
    if end is None:
        return None
    lead = platform_config(case).seven_day_reminder.after(now) - now
    if not end - lead <= now < end:
        return None
    if any(e.type == "seven_day_reminder" for e in case_events(case)):
        return None
    return end


def send_seven_day_reminders(factory: sessionmaker[Session], clock: Clock) -> list[str]:
    """Remind consumers whose seven-day window closes soon while their case is still open.
    Candidates are found in a read transaction; only due cases take the write lock."""
    now = clock.now()
    with factory() as session:
        due = [
            c.case_no
            for c in session.scalars(select(Case).where(
                Case.state.in_([State.SUBMITTED, State.NEGOTIATING, State.ESCALATED_DESK])))
            if _reminder_due(c, now) is not None
        ]
    sent = []
    for no in due:
        with factory() as session:

            def run(no: str = no) -> bool:
                case = session.scalars(select(Case).where(Case.case_no == no).with_for_update()).one()
                end = _reminder_due(case, now)  # re-checked under the lock: another worker may have sent it
                if end is None:
                    return False
                last_day = (end - timedelta(days=1)).date().isoformat()
                record_event(session, case, "seven_day_reminder", actor="system", at=now,
                             payload={"window_end": end.isoformat()},
                             legal_basis=[{"law": "网络购买商品七日无理由退货暂行办法", "article": 10,
                                           "citation": "《网络购买商品七日无理由退货暂行办法》第十条"}])
                notify(session, case, texts.seven_day_reminder(case.case_no, last_day), kind="reminder", clock=clock)
                return True

            if run_in_transaction(session, run):
                sent.append(no)
    return sent
