"""Score decisions against the `expected` objects of a cases*.jsonl file, field by field."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from .common import load_yaml
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
# v2 keys: scored only on rows that label them (absent means not labelled)
V2: dict[str, Callable[[dict], Any]] = {
    "report_recommended": _get("report_recommended"),
    "report_basis": lambda d: _set_of_refs(d.get("report_basis")),
    "punitive.measure": _get("punitive.measure"),
    "punitive.base_yuan": _get("punitive.base_yuan"),
    "punitive.up_to": _get("punitive.up_to"),
    "punitive_alternatives": lambda d: frozenset(
        (a.get("multiple"), a.get("measure"), a.get("amount_yuan")) for a in d.get("punitive_alternatives") or []),
    "can_rescind": _get("can_rescind"),
    "prepaid_cooling_off_eligible": _get("prepaid_cooling_off_eligible"),
    "prepaid_cooling_off_deadline": _get("prepaid_cooling_off_deadline"),
    "interest_rate_basis": _get("interest_rate_basis"),
    "warranty_expiry_date": _get("warranty_expiry_date"),
    "warranty_covered": _get("warranty_covered"),
    "usage_compensation_yuan": _get("usage_compensation_yuan"),
}
V2_FIELDS = tuple(V2)
FIELDS.update(V2)


def is_v2(expected: dict) -> bool:
    return "report_recommended" in expected


def _v1_view(got: dict) -> dict:
    """A decision as the v1 schema sees it: v2-only codes, remedies and titles, and the articles
    that are in the basis only because of a 举报, were not part of the v1 labels."""
    vocab = load_yaml("schema_v1.yaml")
    out = dict(got)
    out["reason_codes"] = [c for c in got.get("reason_codes") or [] if c in vocab["reason_codes"]]
    out["suggested_remedies"] = [r for r in got.get("suggested_remedies") or []
                                 if r in vocab["remedies"] and r not in (got.get("remedies_from_report") or [])]
    report_only = _set_of_refs(got.get("basis_from_report"))
    out["legal_basis"] = [r for r in got.get("legal_basis") or []
                          if r["law"] in vocab["laws"] and (r["law"], int(r["article"])) not in report_only]
    return out


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
    scored: dict[str, int] = {name: 0 for name in FIELDS}
    for case in cases:
        for name, (want, got) in _compare(case, use_narrative, today).items():
            scored[name] += 1
            if want != got:
                failed[name].append(case["id"])
    n = len(cases)
    return {
        "n": n,
        "accuracy": {name: (round(1 - len(failed[name]) / scored[name], 4) if scored[name] else None)
                     for name in FIELDS if scored[name]},
        "scored": {name: scored[name] for name in FIELDS if scored[name]},
        "failed": {name: ids for name, ids in failed.items() if scored[name]},
        "narrative_facts": use_narrative,
    }


def _compare(case: dict, use_narrative: bool, today: date | None = None) -> dict[str, tuple[Any, Any]]:
    """{field: (expected, got)} for every field the case labels."""
    decision = decide(case_facts(case, use_narrative), today=today)
    got = decision.to_dict()
    got["basis_from_report"] = [{"law": law, "article": art} for law, art in decision.basis_from_report]
    got["remedies_from_report"] = list(decision.remedies_from_report)
    expected = case["expected"]
    if not is_v2(expected):
        got = _v1_view(got)
    out = {}
    for name, extract in FIELDS.items():
        if name in V2_FIELDS and not is_v2(expected):
            continue
        out[name] = (extract(expected), extract(got))
    return out


def diff(case: dict, use_narrative: bool = True) -> dict[str, tuple[Any, Any]]:
    """Fields where the decision differs from the expectation: {field: (expected, got)}."""
    return {name: pair for name, pair in _compare(case, use_narrative).items() if pair[0] != pair[1]}
