"""Which question to ask next: only what could change the decision, then what negotiation needs.

The rules engine is asked, not a fixed list: for each fact the story left open, the decision is
computed once per plausible answer (`probe`); when the answers lead to different outcomes, the
fact is worth a question. Facts a consumer would have told us if they held (a defect, fraud, an
injury) are never probed: they come from the story. The order of `FACT_QUESTIONS` is the order
of importance. Contradictory facts (signed before ordered) are questioned, not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.rules import decide
from knowledge.rules.common import cn_date
from knowledge.rules.decision import Decision

QUESTIONS_FILE = Path(__file__).with_name("questions.yaml")
NEGOTIATION_QUESTIONS = ("order_id", "phone")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))["questions"]


def signature(d: Decision) -> tuple:
    """The outcomes a question must be able to change to be worth asking."""
    return (
        d.seven_day_return_eligible,
        d.seven_day_deadline,
        d.platform_liable,
        d.punitive.multiple,
        d.punitive.amount_yuan,
        d.refund_amount_yuan,
    )


def _outcomes_differ(facts: dict[str, Any], key: str, values: list[Any], today: date) -> bool:
    seen = set()
    for value in values:
        trial = dict(facts)
        trial[key] = value
        seen.add(signature(decide(trial, today=today)))
        if len(seen) > 1:
            return True
    return False


def _signed_probe(facts: dict[str, Any], today: date) -> list[Any]:
    return [(today - timedelta(days=2)).isoformat(), (today - timedelta(days=30)).isoformat()]


def _request_probe(facts: dict[str, Any], today: date) -> list[Any] | None:
    if not (facts.get("return_request_mentioned") or facts.get("seller_received_return_date")):
        return None
    signed = date.fromisoformat(facts["signed_date"]) if facts.get("signed_date") else None
    if signed is None:
        return None
    return [(signed + timedelta(days=7)).isoformat(), today.isoformat()]


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
    "loss_yuan": lambda f, t: [0.0, 10000.0] if f.get("defect_caused_harm") is True else None,
}
FACT_QUESTIONS = ("platform", "product", *PROBES)


def worth_asking(key: str, facts: dict[str, Any], today: date) -> bool:
    if key in ("platform", "product"):
        return True
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
