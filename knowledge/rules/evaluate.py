"""Score decisions against the `expected` objects of a cases*.jsonl file, field by field."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from .decision import decide
from .narrative import enrich


def _set_of_refs(value: Any) -> frozenset:
    return frozenset((r["law"], int(r["article"])) for r in value or [])


def _get(path: str) -> Callable[[dict], Any]:
    def getter(d: dict) -> Any:
        for part in path.split("."):
            d = (d or {}).get(part)
        return d

    return getter


# field -> (extractor, normaliser used to compare)
FIELDS: dict[str, Callable[[dict], Any]] = {
    "seven_day_return_eligible": _get("seven_day_return_eligible"),
    "seven_day_deadline": _get("seven_day_deadline"),
    "reason_codes": lambda d: frozenset(d.get("reason_codes") or []),
    "return_shipping_payer": _get("return_shipping_payer"),
    "platform_liable": _get("platform_liable"),
    "platform_liability_basis": lambda d: _set_of_refs(d.get("platform_liability_basis")),
    "other_liable_parties": lambda d: frozenset(d.get("other_liable_parties") or []),
    "punitive.multiple": _get("punitive.multiple"),
    "punitive.amount_yuan": _get("punitive.amount_yuan"),
    "punitive.against": lambda d: frozenset((d.get("punitive") or {}).get("against") or []),
    "refund_amount_yuan": _get("refund_amount_yuan"),
    "refund_due_date": _get("refund_due_date"),
    "promise_compensation_yuan": _get("promise_compensation_yuan"),
    "suggested_remedies": lambda d: frozenset(d.get("suggested_remedies") or []),
    "legal_basis": lambda d: _set_of_refs(d.get("legal_basis")),
}


def load_cases(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def case_facts(case: dict, use_narrative: bool = True) -> dict:
    facts = dict(case.get("facts") or {})
    if use_narrative and case.get("narrative"):
        facts = enrich(facts, case["narrative"])
    return facts


def evaluate(cases: Iterable[dict], use_narrative: bool = True, today: date | None = None) -> dict:
    """Per-field accuracy, n, and the ids that failed each field."""
    cases = list(cases)
    failed: dict[str, list[str]] = {name: [] for name in FIELDS}
    for case in cases:
        got = decide(case_facts(case, use_narrative), today=today).to_dict()
        expected = case["expected"]
        for name, extract in FIELDS.items():
            if extract(got) != extract(expected):
                failed[name].append(case["id"])
    n = len(cases)
    return {
        "n": n,
        "accuracy": {name: (round(1 - len(ids) / n, 4) if n else None) for name, ids in failed.items()},
        "failed": failed,
        "narrative_facts": use_narrative,
    }


def diff(case: dict, use_narrative: bool = True) -> dict[str, tuple[Any, Any]]:
    """Fields where the decision differs from the expectation: {field: (expected, got)}."""
    got = decide(case_facts(case, use_narrative)).to_dict()
    out = {}
    for name, extract in FIELDS.items():
        if extract(got) != extract(case["expected"]):
            out[name] = (extract(case["expected"]), extract(got))
    return out
