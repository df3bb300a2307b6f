"""Derive the extra facts that the structured schema lacks from the consumer's own words.

Coupons, card fees, a seller's refusal, prepaid sessions or a misleading "self-operated" label
change the legal answer but have no field in the facts. The conversation layer (and the eval
harness) call `enrich` so that the rules can see them. Patterns live in narrative.yaml.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import cn2an

from .common import load_yaml

_CLAUSE_SPLIT = re.compile(r"[，,。；;！!？?\n]")
_NUM = r"[0-9一二两三四五六七八九十百]+"


def _to_int(token: str) -> int | None:
    try:
        return int(cn2an.cn2an(token, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


@lru_cache(maxsize=1)
def _compiled() -> dict[str, list[re.Pattern]]:
    spec = load_yaml("narrative.yaml")["flags"]
    return {name: [re.compile(p) for p in patterns] for name, patterns in spec.items()}


def _refusal(text: str) -> tuple[bool, bool]:
    """(the seller refused something the consumer is owed, the refusal claimed an exclusion)."""
    spec = load_yaml("narrative.yaml")["refusal"]
    patterns = [re.compile(p) for p in spec["patterns"]]
    refused = claimed = False
    for clause in _CLAUSE_SPLIT.split(text):
        if not any(p.search(clause) for p in patterns):
            continue
        if any(obj in clause for obj in spec["lawful_objects"]):
            continue
        refused = True
        if any(w in clause for w in spec["exclusion_claims"]):
            claimed = True
    return refused, claimed


def _prepaid_units(text: str, product: str) -> tuple[int | None, int | None]:
    spec = load_yaml("narrative.yaml")["prepaid"]
    unit = spec["unit"]
    used = None
    for pattern in spec["used_patterns"]:
        m = re.search(pattern.format(unit=unit), text)
        if m:
            used = _to_int(m.group(2))
            break
    total = None
    for source in (product, text):
        for pattern in spec["total_patterns"]:
            for m in re.finditer(pattern.format(unit=unit), source):
                value = _to_int(m.group(1))
                if value is not None and (used is None or value > used):
                    total = value
                    break
            if total is not None:
                break
        if total is not None:
            break
    return total, used


def _partial_return(text: str) -> dict[str, Any]:
    """满减 bundles: 「两件各200，满300减40，退了一件」 -> list prices of all and of returned items."""
    m = re.search(r"满\s*([0-9]+)\s*减\s*([0-9]+)", text)
    if not m:
        return {}
    unit = re.search(r"(?:每件|单价|一件|各)\s*([0-9]+(?:\.[0-9]+)?)", text) or re.search(
        r"([0-9]+(?:\.[0-9]+)?)\s*(?:元|块)?\s*(?:一件|每件)", text
    )
    count = re.search(rf"({_NUM})\s*件", text)
    returned = re.search(rf"退(?:了|掉|回)?\s*({_NUM})\s*件", text)
    if not (unit and count and returned):
        return {"full_reduction": [float(m.group(1)), float(m.group(2))]}
    n, k, price = _to_int(count.group(1)), _to_int(returned.group(1)), float(unit.group(1))
    if not n or not k or k >= n:
        return {"full_reduction": [float(m.group(1)), float(m.group(2))]}
    return {
        "full_reduction": [float(m.group(1)), float(m.group(2))],
        "item_list_prices": [price] * n,
        "returned_list_prices": [price] * k,
    }


def extract(narrative: str, product: str = "") -> dict[str, Any]:
    """All extra facts the narrative supports (only positive findings are returned)."""
    text = narrative or ""
    out: dict[str, Any] = {}
    for name, patterns in _compiled().items():
        if any(p.search(text) for p in patterns):
            out[name] = True
    refused, claimed = _refusal(text)
    if refused:
        out["seller_refused"] = True
    if claimed:
        out["seller_claimed_exclusion"] = True
    for name, patterns in load_yaml("narrative.yaml").get("numbers", {}).items():
        for pattern in patterns:
            m = re.search(pattern, text)
            value = _to_int(m.group(1)) if m else None
            if value is not None:
                out[name] = value
                break
    total, used = _prepaid_units(text, product)
    if total is not None:
        out["prepaid_total_units"] = total
    if used is not None:
        out["prepaid_used_units"] = used
    out.update(_partial_return(text))
    return out


def enrich(facts: dict[str, Any], narrative: str | None = None) -> dict[str, Any]:
    """Facts plus what the narrative adds; explicit facts are never overwritten."""
    text = narrative if narrative is not None else str(facts.get("narrative") or "")
    merged = dict(facts)
    for key, value in extract(text, str(facts.get("product") or "")).items():
        merged.setdefault(key, value)
    return merged
