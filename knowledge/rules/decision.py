"""Combine the topic findings into one Decision in the shape of the eval `expected` objects.

Composition rules (why they are here and not in the topic modules):
- legal_basis names the main articles for the conclusion. When the dispute has a substantive
  claim (quality, fraud, food, delivery, prepaid service, other topics), those articles are the
  basis and the no-reason-return articles are left out; otherwise the no-reason articles are the
  basis, narrowed to the money rule in dispute when there is one. Platform and live-room articles
  are added whenever they apply.
- A route that sends goods back decides who pays the return shipping; none means null.
- With no legal entitlement at all, the only suggestion is to negotiate goodwill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from knowledge.corpus import resolve

from . import delivery as delivery_mod
from . import money as money_mod
from . import other as other_mod
from . import platform as platform_mod
from . import punitive as punitive_mod
from . import quality as quality_mod
from . import seven_day as seven_mod
from .common import Ref, money_value
from .facts import Facts
from .narrative import enrich

EXPECTED_KEYS = (
    "seven_day_return_eligible",
    "seven_day_deadline",
    "reason_codes",
    "return_shipping_payer",
    "platform_liable",
    "platform_liability_basis",
    "other_liable_parties",
    "punitive",
    "refund_amount_yuan",
    "refund_due_date",
    "promise_compensation_yuan",
    "suggested_remedies",
    "legal_basis",
)


def _refs(refs: list[Ref]) -> list[dict[str, Any]]:
    return [{"law": law, "article": article} for law, article in refs]


def _add(target: list, items: list) -> None:
    for item in items:
        if item not in target:
            target.append(item)


@dataclass
class Decision:
    """The engine's answer for one dispute; `to_dict` matches the eval `expected` keys."""

    seven_day_return_eligible: bool | None
    seven_day_deadline: date | None
    reason_codes: list[str]
    return_shipping_payer: str | None
    platform_liable: bool
    platform_liability_basis: list[Ref]
    other_liable_parties: list[str]
    punitive: punitive_mod.Punitive
    refund_amount_yuan: float | None
    refund_due_date: date | None
    promise_compensation_yuan: float | None
    suggested_remedies: list[str]
    legal_basis: list[Ref]
    notes: list[str] = field(default_factory=list)
    facts: Facts | None = field(default=None, repr=False)

    def cited_refs(self) -> list[Ref]:
        """Every article the decision relies on: basis, platform basis and punitive basis."""
        out: list[Ref] = []
        _add(out, self.legal_basis)
        _add(out, self.platform_liability_basis)
        _add(out, self.punitive.punitive_basis)
        return out

    def citations(self) -> list[dict[str, Any]]:
        """Resolve each cited article through the corpus (raises CitationError if one is missing)."""
        out = []
        for law, article in self.cited_refs():
            art = resolve(law, article)
            out.append({"law": art.law, "article": art.article, "citation": art.citation, "text": art.text})
        return out

    def explanation(self, quotes: bool = False) -> str:
        from .explain import render

        return render(self, quotes=quotes)

    def to_dict(self, quotes: bool = False) -> dict[str, Any]:
        return {
            "seven_day_return_eligible": self.seven_day_return_eligible,
            "seven_day_deadline": self.seven_day_deadline.isoformat() if self.seven_day_deadline else None,
            "reason_codes": list(self.reason_codes),
            "return_shipping_payer": self.return_shipping_payer,
            "platform_liable": self.platform_liable,
            "platform_liability_basis": _refs(self.platform_liability_basis),
            "other_liable_parties": list(self.other_liable_parties),
            "punitive": self.punitive.as_dict(),
            "punitive_alternatives": [r.as_dict() for r in self.punitive.alternatives],
            "refund_amount_yuan": money_value(self.refund_amount_yuan),
            "refund_due_date": self.refund_due_date.isoformat() if self.refund_due_date else None,
            "promise_compensation_yuan": money_value(self.promise_compensation_yuan),
            "suggested_remedies": list(self.suggested_remedies),
            "legal_basis": _refs(self.legal_basis),
            "explanation": self.explanation(quotes=quotes),
            "citations": self.citations(),
        }


def decide(facts: dict[str, Any], today: date | None = None) -> Decision:
    """Apply the rules to one facts dict (missing keys tolerated; a `narrative` key is mined too)."""
    raw = dict(facts or {})
    if raw.get("narrative"):
        raw = enrich(raw)
    f = Facts(raw, today or date.today())

    seven = seven_mod.assess(f)
    quality = quality_mod.assess(f)
    delivery = delivery_mod.assess(f)
    room_liable = f.channel == "live_stream" and f.get("livestream_marked_actual_seller") is False
    punitive = punitive_mod.assess(f, live_room_liable=room_liable)
    money = money_mod.assess(f, seven, quality_route=quality.active)
    other = other_mod.assess(f)
    has_claim = bool(
        seven.eligible is True
        or quality.active
        or punitive.multiple
        or money.prepaid
        or delivery.active
        or other.active
        or money.promise_compensation
    )
    platform = platform_mod.assess(f, has_claim)
    seller_gone = f.flag_false("seller_reachable")
    claim_via_platform = seller_gone and bool({"a", "b"} & set(platform.grounds))

    payer, shipping_codes = _return_shipping(f, seven, quality, delivery, punitive)

    codes: list[str] = []
    for finding in (seven, quality, delivery, platform, punitive, money, other):
        _add(codes, finding.codes)
    _add(codes, shipping_codes)

    remedies = _remedies(f, seven, quality, delivery, platform, punitive, money, other, claim_via_platform)

    substantive = quality.active or punitive.active or delivery.active or money.prepaid or other.active
    basis: list[Ref] = []
    if substantive:
        _add(basis, (quality.harm_basis or []) if claim_via_platform else quality.basis)
        for finding in (delivery, punitive, money, other):
            _add(basis, finding.basis)
    elif money.no_reason_issue:
        _add(basis, money.basis)
    elif seven.eligible is True:
        _add(basis, seven_mod.base_basis(f, seven))
    else:
        _add(basis, seven.basis)
        _add(basis, money.basis)
    _add(basis, platform.legal_basis)
    _add(basis, platform.basis)

    refund = money.refund_amount
    if refund is None and (punitive.multiple or quality.route == "destroyed"):
        refund = f.price

    notes: list[str] = []
    for finding in (seven, quality, delivery, money, punitive, platform, other):
        notes.extend(finding.notes)

    return Decision(
        seven_day_return_eligible=seven.eligible,
        seven_day_deadline=seven.deadline,
        reason_codes=codes,
        return_shipping_payer=payer,
        platform_liable=platform.liable,
        platform_liability_basis=platform.liability_basis,
        other_liable_parties=platform.other_liable_parties,
        punitive=punitive,
        refund_amount_yuan=refund,
        refund_due_date=money.refund_due,
        promise_compensation_yuan=money.promise_compensation,
        suggested_remedies=remedies,
        legal_basis=basis,
        notes=notes,
        facts=f,
    )


def _return_shipping(f, seven, quality, delivery, punitive) -> tuple[str | None, list[str]]:
    """Who pays to send the goods back on the route that applies (消法第二十四、二十五条)."""
    if quality.active and quality.return_shipping_seller:
        return "seller", []
    if delivery.goods_stay or quality.route == "destroyed":
        return None, []
    if seven.eligible is True:
        agreed = f.flag("return_shipping_agreed_by_seller") or bool(
            seven.promise and seven.promise.pays_return_shipping
        )
        if f.return_received:
            return ("seller" if agreed else "consumer"), []
        if agreed:
            return "seller", ["RETURN_SHIPPING_BY_AGREEMENT"]
        return "consumer", ["RETURN_SHIPPING_CONSUMER"]
    if punitive.multiple:
        return "seller", []
    return None, []


def _remedies(f, seven, quality, delivery, platform, punitive, money, other, claim_via_platform) -> list[str]:
    out: list[str] = []
    no_reason = seven.eligible is True and quality.route != "within_7" and not f.return_received
    if seven.eligible is None and seven.pending_condition and seven.within and not quality.active:
        out.append("seven_day_no_reason_return")  # open as long as the goods are intact
    if no_reason:
        out.append("seven_day_no_reason_return")
        if seven.promise_used:
            out.append("honor_promise")
        if f.flag("seller_refused") or "EXCLUSION_NOT_CONFIRMED" in seven.codes:
            out.append("platform_mediation")
    _add(out, money.remedies)
    if quality.active:
        if claim_via_platform:
            _add(out, ["refund"] + [r for r in quality.remedies if r == "compensate_losses"])
        else:
            _add(out, quality.remedies)
            if quality.route == "after_7" and f.return_requested and f.is_platform_channel:
                out.append("platform_mediation")
    for finding in (punitive, delivery, platform, other):
        _add(out, finding.remedies)
    if f.flag_false("seller_reachable") and not platform.liable and out:
        _add(out, ["complaint_to_market_regulator"])
    if platform.liable and "platform_mediation" in out:
        out.remove("platform_mediation")
    plain_return = not (quality.active or punitive.multiple or delivery.active or money.prepaid or other.active)
    if platform.grounds == ["d"] and plain_return and "claim_against_platform" in out:
        # A self-operated platform is simply the seller: the return itself is the claim.
        out.remove("claim_against_platform")
    if not out:
        out.append("negotiate_goodwill")
    return out
