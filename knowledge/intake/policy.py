"""Which question to ask next: only what could change the decision, then what negotiation needs.

The rules engine is asked, not a fixed list: for each fact the story left open, the decision is
computed once per plausible answer (`probe`); when the answers lead to different outcomes, the
fact is worth a question. Facts a consumer would have told us if they held (a defect, fraud, an
injury) are never probed: they come from the story. The order of `FACT_QUESTIONS` is the order
of importance. Contradictory facts (signed before ordered) are questioned, not stored.

The v2 regimes (prepaid services, deposits, payments, renewals, late delivery, warranty and cars,
endorsers) have their probes too, each only in its context (a prepayment, a deposit, goods not yet
delivered, a warranty or a car …); the decision's v2 outcomes are part of the `signature`. A probe
value may be a dict when an answer comes with another fact (a reminder and its period).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.rules import decide
from knowledge.rules.categories import classify
from knowledge.rules.common import cn_date
from knowledge.rules.decision import Decision

QUESTIONS_FILE = Path(__file__).with_name("questions.yaml")
NEGOTIATION_QUESTIONS = ("order_id", "phone")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))["questions"]


def signature(d: Decision) -> tuple:
    """The outcomes a question must be able to change to be worth asking: the seven-day answer,
    the platform, the punitive amount, the money back, and the v2 outcomes (the report, rescission
    for late delivery, the prepaid cooling-off, the warranty, the car usage fee, who else is liable)."""
    return (
        d.seven_day_return_eligible,
        d.seven_day_deadline,
        d.platform_liable,
        d.punitive.multiple,
        d.punitive.amount_yuan,
        d.refund_amount_yuan,
        *(getattr(d, name, None) for name in V2_OUTCOMES),
        tuple(getattr(d, "other_liable_parties", None) or ()),
    )


V2_OUTCOMES = ("report_recommended", "can_rescind", "prepaid_cooling_off_eligible", "prepaid_cooling_off_deadline",
               "interest_rate_basis", "warranty_expiry_date", "warranty_covered", "usage_compensation_yuan")


def _outcomes_differ(facts: dict[str, Any], key: str, values: list[Any], today: date) -> bool:
    seen = set()
    for value in values:
        trial = dict(facts)
        if isinstance(value, dict):  # an answer that comes with another fact (a reminder and its period)
            trial.update(value)
        else:
            trial[key] = value
        seen.add(signature(decide(trial, today=today)))
        if len(seen) > 1:
            return True
    return False


def _signed_probe(facts: dict[str, Any], today: date) -> list[Any] | None:
    if any(facts.get(k) is True for k in (*NO_PURCHASE, "auto_renewal")) or _money_back(facts):
        return None  # no goods were delivered in these disputes
    return [(today - timedelta(days=2)).isoformat(), (today - timedelta(days=30)).isoformat()]


def _request_probe(facts: dict[str, Any], today: date) -> list[Any] | None:
    if not (facts.get("return_request_mentioned") or facts.get("seller_received_return_date")):
        return None
    signed = date.fromisoformat(facts["signed_date"]) if facts.get("signed_date") else None
    if signed is None:
        return None
    return [(signed + timedelta(days=7)).isoformat(), today.isoformat()]


def _day(facts: dict[str, Any], key: str) -> date | None:
    try:
        return date.fromisoformat(str(facts.get(key))[:10])
    except ValueError:
        return None


def _days_ago(today: date, *days: int) -> list[str]:
    return [(today - timedelta(days=n)).isoformat() for n in days]


def _prepaid(facts: dict[str, Any]) -> bool:
    """A prepayment for a service (a card, a course package, stored value)."""
    return any(facts.get(k) not in (None, False) for k in ("prepaid_paid_date", "prepaid_units_total",
                                                             "prepaid_mentioned"))


def _money_back(facts: dict[str, Any]) -> bool:
    return _prepaid(facts) or facts.get("deposit_yuan") is not None or facts.get("deposit_mentioned") is True


def _late(facts: dict[str, Any]) -> bool:
    """Goods not delivered, with a delivery promise or lateness told in the story."""
    return "signed_date" in facts and facts["signed_date"] is None and bool(
        facts.get("promised_delivery_date") or facts.get("delivery_reminder_date") or facts.get("late_delivery"))


def _vehicle(facts: dict[str, Any]) -> bool:
    """A household car, as the rules engine classifies goods (家用汽车三包规定)."""
    return any(facts.get(k) is not None for k in ("vehicle_km", "vehicle_fault")) or "vehicle" in classify(
        str(facts.get("category") or ""), str(facts.get("product") or ""))


def _warranty(facts: dict[str, Any]) -> bool:
    """A warranty or 三包 dispute: the story spoke of a warranty, or of a car's fault."""
    return bool(facts.get("warranty_mentioned") or facts.get("warranty_months") or _vehicle(facts)) \
        and bool(facts.get("defect") or facts.get("defect_found_date") or _vehicle(facts))


def _refund_request_probe(facts: dict[str, Any], today: date) -> list[Any] | None:
    if not _money_back(facts):
        return None
    paid = _day(facts, "prepaid_paid_date")
    values: list[Any] = [None, *_days_ago(today, 1, 20)]
    if paid:
        values.append((paid + timedelta(days=3)).isoformat())
    return values


def _units_probe(facts: dict[str, Any], today: date) -> list[Any] | None:
    return [10, 100] if _prepaid(facts) and facts.get("price_yuan") is not None else None


def _used_probe(facts: dict[str, Any], today: date) -> list[Any] | None:
    total = facts.get("prepaid_units_total")
    return [0, max(1, int(total) // 2)] if _prepaid(facts) and isinstance(total, int | float) and total else None


def _list_price_probe(facts: dict[str, Any], today: date) -> list[Any] | None:
    """No discount, or a list price twice the unit price paid (it matters only for units used)."""
    units, paid = facts.get("prepaid_units_total"), facts.get("price_yuan")
    if not (_prepaid(facts) and facts.get("prepaid_units_used") and isinstance(units, int | float) and units
            and isinstance(paid, int | float)):
        return None
    return [None, round(float(paid) / float(units) * 2, 2)]


def _delivery_probe(key: str) -> Callable[[dict[str, Any], date], list[Any] | None]:
    def probe(facts: dict[str, Any], today: date) -> list[Any] | None:
        if "signed_date" not in facts or facts["signed_date"] is not None:
            return None
        if key == "promised_delivery_date":
            return _days_ago(today, 10, -3) if facts.get("late_delivery") or facts.get("order_date") else None
        if not _late(facts):
            return None
        if key == "delivery_reminder_date":
            period = facts.get("reminder_period_days") or 3
            return [None, {key: _days_ago(today, 10)[0], "reminder_period_days": period}]
        if key == "reminder_period_days":
            return [1, 30] if facts.get("delivery_reminder_date") else None
        return [True, False]  # time_essential
    return probe


def _warranty_probe(key: str) -> Callable[[dict[str, Any], date], list[Any] | None]:
    def probe(facts: dict[str, Any], today: date) -> list[Any] | None:
        if not _warranty(facts):
            return None
        car = _vehicle(facts)
        if key == "warranty_start_date":
            return _days_ago(today, 100, 800)
        if key == "warranty_months":
            return None if car else [6, 12, 36]  # a car's 三包有效期 is at least 24 months by law
        if key == "defect_found_date":
            start = _day(facts, "warranty_start_date")
            return [(start + timedelta(days=3)).isoformat(), today.isoformat()] if start else None
        if key in ("warranty_repair_count", "warranty_repair_days"):
            if not (car or facts.get("repair_mentioned")):
                return None
            return [0, 5] if key == "warranty_repair_count" else [0, 40]
        if not car:
            return None
        if key == "vehicle_km":
            return [500, 20000, 80000]
        if key == "vehicle_fault":
            return ["major_part", "critical_failure", "other"]
        return [0.005, 0.002]  # vehicle_usage_coefficient
    return probe


# fact -> plausible answers, or a function of (facts, today) giving them (None: do not ask)
PROBES: dict[str, list[Any] | Callable[[dict[str, Any], date], list[Any] | None]] = {
    "signed_date": _signed_probe,
    "return_request_date": _request_probe,
    "condition": ["intact", "opened", "used"],
    "merchant_exclusion_confirmed": lambda f, t: [True, False] if f.get("merchant_exclusion_category") is True else None,
    "platform_provided_seller_info": lambda f, t: [True, False] if f.get("seller_reachable") is False else None,
    "seller_type": lambda f, t: (
        ["individual_non_business", "business"] if f.get("channel") == "secondhand_marketplace" else None
    ),
    "price_yuan": [100.0, 1000.0],
    "loss_yuan": lambda f, t: (
        [0.0, 10000.0] if f.get("defect_caused_harm") is True or f.get("unauthorized_payment") is True else None),
    # prepaid services (预付式消费)
    "prepaid_paid_date": lambda f, t: _days_ago(t, 3, 60) if _prepaid(f) or f.get("prepaid_units_total") else None,
    "refund_request_date": _refund_request_probe,
    "prepaid_units_total": _units_probe,
    "prepaid_units_used": _used_probe,
    "prepaid_refund_cause": lambda f, t: ["business", "consumer"] if _prepaid(f) else None,
    "prepaid_list_unit_price_yuan": _list_price_probe,
    "prepaid_prior_same_service": lambda f, t: [True, False] if _prepaid(f) else None,
    # deposits, unauthorised payments, renewals
    "deposit_yuan": lambda f, t: [100.0, 1000.0] if f.get("deposit_mentioned") is True else None,
    "deposit_deduction_yuan": lambda f, t: (
        [0.0, round(float(f["deposit_yuan"]) / 2, 2)] if f.get("deposit_deduction_mentioned") and f.get("deposit_yuan")
        else None),
    "payment_user_at_fault": lambda f, t: [True, False] if f.get("unauthorized_payment") is True else None,
    "loss_after_notice_yuan": lambda f, t: (
        [0.0, 100.0] if f.get("unauthorized_payment") is True and f.get("payment_user_at_fault") is not False else None),
    "cancelled_before_charge": lambda f, t: [True, False] if f.get("auto_renewal") is True else None,
    "renewal_notice_missing": lambda f, t: [True, False] if f.get("auto_renewal") is True else None,
    # late delivery
    "promised_delivery_date": _delivery_probe("promised_delivery_date"),
    "delivery_reminder_date": _delivery_probe("delivery_reminder_date"),
    "reminder_period_days": _delivery_probe("reminder_period_days"),
    "time_essential": _delivery_probe("time_essential"),
    # warranty and cars
    "warranty_start_date": _warranty_probe("warranty_start_date"),
    "warranty_months": _warranty_probe("warranty_months"),
    "defect_found_date": _warranty_probe("defect_found_date"),
    "vehicle_fault": _warranty_probe("vehicle_fault"),
    "vehicle_km": _warranty_probe("vehicle_km"),
    "warranty_repair_count": _warranty_probe("warranty_repair_count"),
    "warranty_repair_days": _warranty_probe("warranty_repair_days"),
    "vehicle_usage_coefficient": _warranty_probe("vehicle_usage_coefficient"),
    # endorsers
    "endorser_knew_false": lambda f, t: (
        [True, False] if f.get("endorser_involved") is True and f.get("life_health_goods") is not True else None),
}
FACT_QUESTIONS = ("platform", "product", *PROBES)
# Nothing was bought (a payment taken without consent, a report of what someone saw): no goods to name.
NO_PURCHASE = ("unauthorized_payment", "reporter_only")


def worth_asking(key: str, facts: dict[str, Any], today: date) -> bool:
    if key == "product":
        return not any(facts.get(k) is True for k in NO_PURCHASE)
    if key == "platform":
        if facts.get("reporter_only") is True:
            return False
        return facts.get("unauthorized_payment") is not True or not facts.get("channel")
    probe = PROBES[key]
    values = probe(facts, today) if callable(probe) else probe
    return bool(values) and _outcomes_differ(facts, key, values, today)


def next_question(facts: dict[str, Any], answered: set[str], today: date, *, have_story: bool) -> str | None:
    """The id of the next question (see questions.yaml), or None when nothing is left to ask."""
    if not have_story:
        return "story"
    for key in FACT_QUESTIONS:
        if key in facts or key in answered:
            continue
        if worth_asking(key, facts, today):
            return key
    for key in NEGOTIATION_QUESTIONS:
        if key not in facts and key not in answered:
            return key
    if "confirm" not in answered:
        return "confirm"
    return None


def contradictions(facts: dict[str, Any], today: date) -> list[tuple[str, str]]:
    """(fact to ask again, Chinese explanation) for facts that cannot all be true."""
    out = []

    def day(key: str) -> date | None:
        try:
            return date.fromisoformat(str(facts.get(key)))
        except ValueError:
            return None

    order, signed = day("order_date"), day("signed_date")
    if order and signed and signed < order:
        out.append(("signed_date", f"签收日期（{cn_date(signed)}）早于下单日期（{cn_date(order)}），请再确认一下签收日期。"))
    for key, label in (("signed_date", "签收日期"), ("order_date", "下单日期"), ("return_request_date", "申请退货日期")):
        d = day(key)
        if d and d > today:
            out.append((key, f"{label}（{cn_date(d)}）在今天之后，请再确认一下。"))
    return out
