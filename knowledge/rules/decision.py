"""Combine the topic findings into one Decision in the shape of the eval `expected` objects.

Composition rules (why they are here and not in the topic modules):
- legal_basis names the main articles for the conclusion. When the dispute has a substantive
  claim (quality, fraud, food, delivery, prepaid service, other topics), those articles are the
  basis and the no-reason-return articles are left out; otherwise the no-reason articles are the
  basis, narrowed to the money rule in dispute when there is one. Platform and live-room articles
  are added whenever they apply.
- A route that sends goods back decides who pays the return shipping; none means null.
- With no legal entitlement at all, the only suggestion is to negotiate goodwill.
- A punitive claim (fraud, food) or the car 三包 rules take over the general quality route for the
  same goods: its exchange/repair remedies and articles give way (`_subsume_quality`).
- Every finding names the violations its facts establish; report.py turns them into the 举报
  beside the 投诉, whose breached provisions join the legal basis (kept apart in
  `basis_from_report`, as are `remedies_from_report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from knowledge.corpus import resolve

from . import delivery as delivery_mod
from . import endorsement as endorsement_mod
from . import imports as imports_mod
from . import money as money_mod
from . import other as other_mod
from . import payments as payments_mod
from . import platform as platform_mod
from . import prepaid as prepaid_mod
from . import punitive as punitive_mod
from . import quality as quality_mod
from . import report as report_mod
from . import seven_day as seven_mod
from . import warranty as warranty_mod
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
    "report_recommended",
    "report_basis",
    "punitive_alternatives",
    "can_rescind",
    "prepaid_cooling_off_eligible",
    "prepaid_cooling_off_deadline",
    "interest_rate_basis",
    "warranty_expiry_date",
    "warranty_covered",
    "usage_compensation_yuan",
)

# Codes of the quality route that a punitive claim for the same goods takes over: the consumer
# asks for the price back plus the increment, not for an exchange or repair.
QUALITY_ROUTE_CODES = ("QUALITY_DEFECT", "QUALITY_RETURN_WITHIN_7_DAYS", "QUALITY_RETURN_SELLER_PAYS_SHIPPING",
                       "NONCONFORMING_GOODS")
QUALITY_ROUTE_REMEDIES = ("exchange", "repair", "quality_return")


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


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
    report_recommended: bool = False
    report_basis: list[Ref] = field(default_factory=list)
    # Articles in legal_basis that are there only because of the report (see report.py).
    basis_from_report: list[Ref] = field(default_factory=list)
    remedies_from_report: list[str] = field(default_factory=list)
    can_rescind: bool | None = None
    prepaid_cooling_off_eligible: bool | None = None
    prepaid_cooling_off_deadline: date | None = None
    interest_rate_basis: str | None = None
    warranty_expiry_date: date | None = None
    warranty_covered: bool | None = None
    usage_compensation_yuan: float | None = None
    notes: list[str] = field(default_factory=list)
    facts: Facts | None = field(default=None, repr=False)

    def cited_refs(self) -> list[Ref]:
        """Every article the decision relies on: basis, platform basis and punitive basis."""
        out: list[Ref] = []
        _add(out, self.legal_basis)
        _add(out, self.platform_liability_basis)
        _add(out, self.punitive.punitive_basis)
        for regime in self.punitive.alternatives:
            _add(out, regime.basis)
        _add(out, self.report_basis)
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
            "report_recommended": self.report_recommended,
            "report_basis": _refs(self.report_basis),
            "can_rescind": self.can_rescind,
            "prepaid_cooling_off_eligible": self.prepaid_cooling_off_eligible,
            "prepaid_cooling_off_deadline": _iso(self.prepaid_cooling_off_deadline),
            "interest_rate_basis": self.interest_rate_basis,
            "warranty_expiry_date": _iso(self.warranty_expiry_date),
            "warranty_covered": self.warranty_covered,
            "usage_compensation_yuan": money_value(self.usage_compensation_yuan),
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
    warranty = warranty_mod.assess(f)
    prepaid = prepaid_mod.assess(f)
    payments = payments_mod.assess(f)
    endorsement = endorsement_mod.assess(f)
    imports = imports_mod.assess(f)
    room_liable = f.channel == "live_stream" and f.get("livestream_marked_actual_seller") is False
    punitive = punitive_mod.assess(f, live_room_liable=room_liable)
    money = money_mod.assess(f, seven, quality_route=quality.active and not punitive.multiple)
    other = other_mod.assess(f)
    _subsume_quality(quality, punitive, warranty)
    extra = (prepaid, payments, endorsement, warranty, imports)
    has_claim = bool(
        seven.eligible is True
        or quality.active
        or punitive.multiple
        or delivery.active
        or other.active
        or money.promise_compensation
        or any(x.active for x in extra)
    )
    platform = platform_mod.assess(f, has_claim)
    seller_gone = f.flag_false("seller_reachable")
    claim_via_platform = seller_gone and bool({"a", "b"} & set(platform.grounds))

    payer, shipping_codes = _return_shipping(f, seven, quality, delivery, punitive, warranty)

    findings = (seven, quality, delivery, warranty, prepaid, payments, platform, punitive, endorsement, imports, money,
                other)
    violations: list[str] = []
    for finding in findings:
        _add(violations, finding.violations)
    reporter_only = f.flag("reporter_only")
    report = report_mod.assess(f, violations, has_dispute=has_claim and not reporter_only)

    codes: list[str] = []
    for finding in findings + (report,):
        _add(codes, finding.codes)
    _add(codes, shipping_codes)

    remedies = _remedies(f, seven, quality, delivery, platform, punitive, money, other, claim_via_platform, extra)
    civil_remedies = list(remedies)
    if report.recommended or report.codes:
        _add(remedies, report.remedies)
        if "COMPLAINT_AND_REPORT_SEPARATE" in report.codes and "platform_mediation" in remedies:
            remedies.remove("platform_mediation")  # the consumer goes to the regulator for both
        if "negotiate_goodwill" in remedies and len(remedies) > 1:
            remedies.remove("negotiate_goodwill")

    substantive = (quality.active or punitive.active or delivery.active or other.active
                   or any(x.active for x in extra))
    basis: list[Ref] = []
    if substantive:
        if warranty.vehicle:
            pass  # the 三包 articles replace the general quality rules
        elif punitive.regime in ("food", "fraud", "known_defect"):
            pass  # the punitive claim carries its own articles
        else:
            _add(basis, (quality.harm_basis or []) if claim_via_platform else quality.basis)
        for finding in (warranty, delivery, prepaid, payments, punitive, endorsement, imports, money, other):
            _add(basis, finding.basis)
    elif money.no_reason_issue:
        _add(basis, money.basis)
        _add(basis, [ref for ref in seven.basis if ref not in basis])
    elif seven.eligible is True:
        _add(basis, seven_mod.base_basis(f, seven))
    else:
        _add(basis, seven.basis)
        _add(basis, money.basis)
    _add(basis, platform.legal_basis)
    _add(basis, platform.basis)
    _add(basis, report.basis)
    civil = list(basis)
    _add(basis, report.basis_from_report)

    refund = next((x.refund_amount for x in (prepaid, payments, delivery, warranty) if x.refund_amount is not None),
                  money.refund_amount)
    if refund is None and (punitive.multiple or quality.route == "destroyed"):
        refund = f.price

    notes: list[str] = []
    for finding in (seven, quality, warranty, delivery, prepaid, payments, money, punitive, endorsement, imports,
                    platform, other, report):
        notes.extend(finding.notes)

    others = list(platform.other_liable_parties)
    _add(others, endorsement.other_liable_parties)
    _add(others, payments.other_liable_parties)

    decision = Decision(
        seven_day_return_eligible=seven.eligible,
        seven_day_deadline=seven.deadline,
        reason_codes=codes,
        return_shipping_payer=payer,
        platform_liable=platform.liable,
        platform_liability_basis=platform.liability_basis,
        other_liable_parties=others,
        punitive=punitive,
        refund_amount_yuan=refund,
        refund_due_date=money.refund_due,
        promise_compensation_yuan=money.promise_compensation,
        suggested_remedies=remedies,
        legal_basis=basis,
        report_recommended=report.recommended,
        report_basis=report.report_basis,
        basis_from_report=[ref for ref in report.basis_from_report if ref not in civil],
        remedies_from_report=[r for r in remedies if r not in civil_remedies],
        can_rescind=delivery.can_rescind,
        prepaid_cooling_off_eligible=prepaid.cooling_off_eligible,
        prepaid_cooling_off_deadline=prepaid.cooling_off_deadline,
        interest_rate_basis=prepaid.interest_rate_basis,
        warranty_expiry_date=warranty.expiry,
        warranty_covered=warranty.covered,
        usage_compensation_yuan=warranty.usage_compensation,
        notes=notes,
        facts=f,
    )
    return _report_only(decision) if reporter_only else decision


def _subsume_quality(quality, punitive, warranty) -> None:
    """A punitive claim or the car 三包 rules take over the general quality route for the same goods."""
    if warranty.vehicle:
        quality.remedies = []
        return
    if punitive.regime in ("food", "fraud"):
        quality.codes = [c for c in quality.codes if c not in QUALITY_ROUTE_CODES]
    if punitive.regime in ("food", "fraud", "known_defect"):
        quality.remedies = [r for r in quality.remedies if r not in QUALITY_ROUTE_REMEDIES + ("refund",)]


def _report_only(d: Decision) -> Decision:
    """No purchase of the user's own: nothing to claim, only the report (投诉举报处理办法第三条)."""
    d.seven_day_return_eligible = None
    d.seven_day_deadline = None
    d.return_shipping_payer = None
    d.refund_amount_yuan = None
    d.punitive = punitive_mod.Punitive()
    d.platform_liable = False
    d.platform_liability_basis = []
    d.other_liable_parties = []
    keep = {"REPORT_ADMIN_VIOLATION", "REPORT_ONLY_NO_CONSUMER_DISPUTE"}
    d.reason_codes = [c for c in d.reason_codes if c in keep]
    d.suggested_remedies = ["report_to_regulator"] if d.report_recommended else []
    d.legal_basis = [ref for ref in d.legal_basis if ref in d.report_basis or ref[0] == report_mod.LAW]
    return d


def _return_shipping(f, seven, quality, delivery, punitive, warranty) -> tuple[str | None, list[str]]:
    """Who pays to send the goods back on the route that applies (消法第二十四、二十五条)."""
    if warranty.vehicle or delivery.can_rescind is not None:
        return None, []
    if punitive.multiple and (f.flag("perishable") or "EXCLUDED_PERISHABLE" in seven.codes):
        return None, []  # perishable food is not sent back
    if quality.active and quality.return_shipping_seller and not punitive.multiple:
        return "seller", []
    if delivery.goods_stay or quality.route == "destroyed":
        return None, []
    if punitive.multiple:
        return "seller", []
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


def _remedies(f, seven, quality, delivery, platform, punitive, money, other, claim_via_platform, extra) -> list[str]:
    out: list[str] = []
    no_reason = (seven.eligible is True and quality.route != "within_7" and not f.return_received
                 and not punitive.multiple)
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
    for finding in (punitive, delivery, platform, other) + tuple(extra):
        _add(out, finding.remedies)
    if f.flag_false("seller_reachable") and not platform.liable and out:
        _add(out, ["complaint_to_market_regulator"])
    if platform.liable and "platform_mediation" in out:
        out.remove("platform_mediation")
    plain_return = not (quality.active or punitive.multiple or delivery.active or other.active
                        or any(x.active for x in extra))
    if platform.grounds == ["d"] and plain_return and "claim_against_platform" in out:
        # A self-operated platform is simply the seller: the return itself is the claim.
        out.remove("claim_against_platform")
    if not out:
        out.append("negotiate_goodwill")
    return out
