"""Turn the complaint form's slots into the rules engine's facts (same keys as the case data)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROBLEMS_FILE = Path(__file__).with_name("problems.yml")
FORM_SLOTS = (
    "platform", "shop", "order_id", "product", "amount", "order_date", "signed_date",
    "problem", "description", "desired_remedy", "phone", "consent",
)


@lru_cache(maxsize=1)
def problem_table() -> dict[str, Any]:
    return yaml.safe_load(PROBLEMS_FILE.read_text(encoding="utf-8"))


def problem_names() -> list[str]:
    return list(problem_table()["problems"])


def remedy_names() -> list[str]:
    return list(problem_table()["remedies"])


def _iso_or_none(value: Any) -> str | None:
    """Only real dates reach the rules engine; markers such as 未签收 / 不记得 mean unknown."""
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return None


def facts_from_slots(slots: dict[str, Any], today: date) -> dict[str, Any]:
    """Facts for `knowledge.rules.decide`; the consumer's request date is today."""
    problem = slots.get("problem")
    facts: dict[str, Any] = {
        "platform": slots.get("platform"),
        "shop": slots.get("shop"),
        "order_id": slots.get("order_id"),
        "channel": "marketplace",
        "seller_type": "business",
        "product": slots.get("product"),
        "category": None,
        "quantity": 1,
        "price_yuan": float(slots["amount"]) if slots.get("amount") not in (None, "") else None,
        "order_date": _iso_or_none(slots.get("order_date")),
        "signed_date": _iso_or_none(slots.get("signed_date")),
        "return_request_date": today.isoformat(),
        "complaint_date": today.isoformat(),
        "problem": problem,
        "description": slots.get("description"),
        # the rules engine also reads facts stated in the consumer's own words (吊牌都在, 特价不退 …)
        "narrative": slots.get("description"),
        "desired_remedy": slots.get("desired_remedy"),
    }
    entry = problem_table()["problems"].get(problem or "", {})
    facts.update(entry.get("facts", {}))
    return facts
