"""举报 (report) beside 投诉 (complaint): 市场监督管理投诉举报处理办法第三、九、十六、十七条.

A complaint asks the regulator to resolve the consumer's own dispute; a report passes on evidence
that a business broke a market-regulation rule, and anyone may make one. The topic findings name
the violations their facts establish (blocks under `violations` in basis.yaml: the provision
breached and the one that punishes it). A report is recommended exactly when there is one; when
the consumer wants both redress and punishment the two are handled separately (第九条). Someone who
bought nothing can only report (第三条, 第十六条第（三）项); a purchase unlike living consumption may
get the complaint refused, but not the report (第十六条第（三）项, 第十七条).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .common import Finding, Ref, blocks, load_yaml
from .facts import Facts

LAW = "市场监督管理投诉举报处理办法"


@dataclass
class Report(Finding):
    recommended: bool = False
    report_basis: list[Ref] = field(default_factory=list)
    # Articles added to the decision's legal basis because of the report (the provisions breached
    # and 第九条); kept apart so that readers who only want the civil claim can tell them apart.
    basis_from_report: list[Ref] = field(default_factory=list)


def violation_refs(name: str) -> tuple[list[Ref], list[Ref]]:
    """(provisions breached, provisions that punish) for one named violation."""
    spec = load_yaml("basis.yaml")["violations"][name]
    as_refs = lambda items: [(str(law), int(article)) for law, article in items]  # noqa: E731
    return as_refs(spec["breached"]), as_refs(spec["penalty"])


def assess(f: Facts, violations: list[str], has_dispute: bool) -> Report:
    r = Report()
    if f.flag("bulk_purchase") and has_dispute:
        r.code("BULK_PURCHASE_COMPLAINT_MAY_BE_REFUSED")
        r.cite("bulk_purchase")
        r.note("购买数量或频次明显不符合生活消费需要的，市场监管部门可能不受理投诉，但举报和起诉不受影响。")
    if f.flag("reporter_only"):
        r.code("REPORT_ONLY_NO_CONSUMER_DISPUTE")
        r.cite("report_only")
        r.note("您没有购买、与经营者之间没有自己的消费纠纷，不能投诉，但可以举报：举报应当提供涉嫌违法的具体线索和事实。")
    if not violations:
        if has_dispute and f.flag("wants_punishment") and not f.flag("reporter_only"):
            # The consumer asked for punishment, but the facts show only a civil dispute.
            r.code("COMPLAINT_ONLY_NO_ADMIN_VIOLATION")
            r.cite("report_definition")
            r.remedy("complaint_to_market_regulator")
        if has_dispute and not f.flag("reporter_only"):
            r.note("这是您与经营者之间的民事纠纷，可以投诉解决；现有事实还看不出可以举报的行政违法行为。")
        return r
    r.recommended = True
    r.code("REPORT_ADMIN_VIOLATION")
    r.remedy("report_to_regulator")
    if not f.flag("reporter_only"):
        r.remedy("complaint_to_market_regulator")
    _add(r.report_basis, blocks("report_definition"))
    for name in violations:
        breached, penalty = violation_refs(name)
        _add(r.report_basis, breached + penalty)
        _add(r.basis_from_report, breached)
    if has_dispute and f.flag("wants_punishment") and not f.flag("reporter_only"):
        r.code("COMPLAINT_AND_REPORT_SEPARATE")
        both = blocks("complaint_and_report")
        _add(r.report_basis, both)
        _add(r.basis_from_report, both)
        r.note("退货、退款、赔偿走投诉，查处违法走举报；同时提出的，市场监管部门分别处理。")
    else:
        r.note("投诉是请市场监管部门调解您自己的纠纷；举报是反映经营者的违法行为、请求查处，两者可以同时提出、分别处理。")
    return r


def _add(target: list[Ref], refs: list[Ref]) -> None:
    for ref in refs:
        if ref not in target:
            target.append(ref)
