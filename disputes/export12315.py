"""Tier-2 escalation: the 12315 complaint package (JSON + PDF).

Follows 《市场监督管理投诉举报处理办法》(总局令第121号, in force 2026-04-15) 第十条: a complaint
carries (一) the complainant's name, phone and postal address, (二) the respondent's name and
address, (三) the concrete request and the facts. Anything we do not have is listed under
`missing` and printed as 待补充, so the consumer knows what to add before filing. Texts are
templates filled with stored facts, and legal provisions are quoted verbatim from the corpus.

When the rules engine recommends a 举报 (decision keys `report_recommended`, `report_basis`), the
package carries it as its own part, `report`: a 举报 asks the regulator to act against a violation,
a 投诉 to resolve the consumer's own dispute, and the two are handled separately (第九条). With
REPORT_ONLY_NO_CONSUMER_DISPUTE there is no dispute of the user's own, so the package is a report
only (`kind` "report") and makes no complaint request. Decisions without those keys give a plain
complaint package.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session

from disputes.clock import format_local
from disputes.core import case_events, get_case, legal_basis_of, platform_config, platform_display
from disputes.models import Case
from disputes.negotiation import claim_items
from disputes.texts import EVENT_LABELS, actor_label, claim_breakdown, yuan
from knowledge.rules.complaint import complaint_forum, report_forum

FORMAT = "odr-12315-package/1"
TODO = "待补充"
MEASURES = "市场监督管理投诉举报处理办法"
REQUIRED_BY = "《市场监督管理投诉举报处理办法》第十条第一款"

# (field path, label, item of 第十条第一款)
REQUIRED_FIELDS = (
    ("complainant.name", "投诉人姓名", "第（一）项"),
    ("complainant.phone", "投诉人电话号码", "第（一）项"),
    ("complainant.address", "投诉人通讯地址", "第（一）项"),
    ("respondent.name", "被投诉人名称（姓名）", "第（二）项"),
    ("respondent.address", "被投诉人地址", "第（二）项"),
    ("request", "具体的投诉请求", "第（三）项"),
    ("facts", "消费者权益争议事实依据", "第（三）项"),
)
REPORT_REQUIRED_BY = "《市场监督管理投诉举报处理办法》第二十八条第一款"
# A report must give concrete leads and facts (第二十八条); the reporter's identity is not among them.
REPORT_REQUIRED_FIELDS = (
    ("respondent.name", "被举报人名称（姓名）"),
    ("report.facts", "涉嫌违法的具体线索和事实依据"),
)
_FILING_ARTICLES = (8, 15, 16, 23)
REPORT_ONLY = "REPORT_ONLY_NO_CONSUMER_DISPUTE"
BULK_PURCHASE = "BULK_PURCHASE_COMPLAINT_MAY_BE_REFUSED"


def _quote(law: str, article: int) -> dict[str, Any] | None:
    try:
        from knowledge.corpus import resolve

        art = resolve(law, article)
    except Exception:
        return None
    return {"law": art.law, "article": art.article, "citation": art.citation, "text": art.text}


def _request_text(case: Case) -> str | None:
    remedy, amount = case.demanded_remedy, case.demanded_amount
    money = f"{yuan(amount)}" if amount is not None else None
    if remedy == "退货退款":
        return f"请求被投诉人办理退货并退还货款{money}。" if money else "请求被投诉人办理退货并退还货款。"
    if remedy == "换货":
        return "请求被投诉人更换同型号合格商品。"
    if remedy == "维修":
        return "请求被投诉人免费修理商品。"
    if remedy == "赔偿":
        items = claim_items(remedy, case.facts, case.decision)
        if not items:
            return f"请求被投诉人依法赔偿{money}。" if money else "请求被投诉人依法承担赔偿责任。"
        return f"请求被投诉人：{claim_breakdown(items, with_basis=True)}。"
    if remedy == "补偿":
        return f"请求被投诉人补偿{money}。" if money else "请求被投诉人给予合理补偿。"
    desired = case.facts.get("desired_remedy")
    return f"请求被投诉人：{desired}。" if desired else None


def _facts_text(case: Case, *, role: str = "投诉人", negotiation: bool = True) -> str | None:
    f = case.facts
    if not (f.get("problem") or f.get("description")):
        return None
    parts = []
    bought = []
    if f.get("order_date"):
        bought.append(f"{f['order_date']}")
    bought.append(f"{role}{_where(case)}购买{f.get('product') or '商品'}")
    details = []
    if f.get("order_id"):
        details.append(f"订单号{f['order_id']}")
    if f.get("price_yuan") is not None:
        details.append(f"实付{yuan(f['price_yuan'])}")
    sentence = "，".join(bought) + (f"（{'，'.join(details)}）" if details else "")
    if f.get("signed_date"):
        sentence += f"，于{f['signed_date']}签收"
    parts.append(sentence + "。")
    if f.get("problem"):
        parts.append(f"争议问题：{f['problem']}。")
    if f.get("description"):
        parts.append(f"经过：{str(f['description']).rstrip('。')}。")
    if negotiation and case.submitted_at:
        parts.append(f"投诉人于{format_local(case.submitted_at)}通过维权助手向平台提出诉求（案件编号{case.case_no}）")
        offers = [o for o in case.offers if o.kind == "counter_offer"]
        if offers:
            parts.append(f"，平台共提出{len(offers)}次和解方案，均未达成一致")
        parts.append("，协商未能解决。")
    return "".join(parts)


def _where(case: Case) -> str:
    """Where the goods were bought, in the words that fit the channel (no 「平台」 for a shop)."""
    f = case.facts
    shop = f"「{f['shop']}」" if f.get("shop") else ""
    channel = _sales_channel(case)
    if channel == "offline_store":
        return f"在{shop or '实体店'}"
    if channel == "seller_own_site":
        name = shop or (f"「{case.platform_name}」" if case.platform_name else "商家")
        return f"通过{name}的自有网站、App或小程序"
    return f"在{platform_display(case)}平台{shop}"


def _sales_channel(case: Case) -> str | None:
    """The seller's position (the facts' `channel`); a self-operated flag makes it the platform's own sale."""
    if case.facts.get("platform_self_operated") is True:
        return "platform_self_operated"
    channel = case.facts.get("channel")
    return str(channel) if channel else None


def _report_flags(decision: dict[str, Any] | None) -> tuple[bool, bool]:
    """(the package has a 举报 part, it is a report only). Decisions made before the engine knew
    about reports have neither key, and give a plain complaint."""
    d = decision or {}
    has_report = d.get("report_recommended") is True
    codes = d.get("reason_codes") or []
    return has_report, has_report and REPORT_ONLY in codes


def _measures_quotes(*articles: int) -> list[dict[str, Any]]:
    return [q for n in articles if (q := _quote(MEASURES, n))]


def _jurisdiction(case: Case, respondent: dict[str, Any], *, report: bool) -> tuple[str, tuple[int, ...]]:
    plat = respondent["platform"]
    platform_name = plat.get("operator") or (plat.get("name") if plat.get("name") != "平台" else None)
    seller = respondent["name"] if respondent["name"] != TODO else None
    if report:
        return report_forum(_sales_channel(case), seller_name=seller, platform_name=platform_name)
    address = respondent["address"] if respondent["address"] != TODO else None
    reachable = case.facts.get("seller_reachable")
    return complaint_forum(_sales_channel(case), seller_name=seller, seller_address=address,
                           seller_reachable=reachable if isinstance(reachable, bool) else None,
                           platform_name=platform_name)


def _report_facts_text(case: Case, report_only: bool) -> str | None:
    if not report_only:
        return _facts_text(case, role="举报人", negotiation=False)
    f = case.facts
    if not (f.get("problem") or f.get("description")):
        return None
    who = f"「{f['shop']}」" if f.get("shop") else "经营者"
    parts = [f"举报人发现{who}涉嫌违反市场监督管理法律、法规、规章"]
    if f.get("product"):
        parts.append(f"，涉及商品：{f['product']}")
    parts.append("。")
    if f.get("problem"):
        parts.append(f"涉嫌违法的问题：{f['problem']}。")
    if f.get("description"):
        parts.append(f"经过：{str(f['description']).rstrip('。')}。")
    return "".join(parts)


def _report_part(case: Case, respondent: dict[str, Any], report_only: bool) -> dict[str, Any]:
    """The 举报 as its own part: facts, the provisions breached (verbatim, from the decision's
    `report_basis`), where it goes, and what the reporter should know (第九、二十八、三十七条)."""
    decision = case.decision or {}
    codes = set(decision.get("reason_codes") or [])
    basis: list[dict[str, Any]] = []
    breached: list[dict[str, Any]] = []
    for item in decision.get("report_basis") or []:
        if not isinstance(item, dict) or not item.get("law") or not item.get("article"):
            continue
        try:
            q = _quote(str(item["law"]), int(item["article"]))
        except (TypeError, ValueError):
            continue
        if q is None:
            continue
        target = basis if q["law"] == MEASURES else breached
        if q not in target:
            target.append(q)
    if not any(q["article"] == 3 for q in basis):
        basis = _measures_quotes(3) + basis
    statements: list[str] = []
    if report_only:
        statements.append(
            "举报人本人与被举报人之间没有消费者权益争议，不能投诉，本材料仅为举报"
            "（《市场监督管理投诉举报处理办法》第三条、第十六条第（三）项）。"
        )
    else:
        statements.append(
            "本材料同时包含投诉和举报内容，市场监督管理部门应当按照规定的程序对投诉和举报分别处理"
            "（《市场监督管理投诉举报处理办法》第九条）；对消费者权益争议的调解不免除经营者依法应当承担的"
            "其他法律责任（第二十七条第二款）。"
        )
    if BULK_PURCHASE in codes:
        statements.append(
            "购买商品的数量、次数、频率等与生活消费需要明显不符的，投诉可能不予受理"
            "（第十六条第（三）项、第十七条），但不影响举报。"
        )
    statements.append(
        "举报人应当提供涉嫌违反市场监督管理法律、法规、规章的具体线索和相应的事实依据，并对举报内容的"
        "真实性负责（第二十八条第一款）。请附上订单、商品页面截图、实物照片、聊天记录等证据。"
    )
    confidential = (
        "市场监督管理部门应当对举报人的信息予以保密，不得将举报人个人信息、举报处理情况等泄露给被举报人"
        "或者与处理举报工作无关的人员（第三十七条）"
    )
    if report_only:
        statements.append(confidential + "。")
    else:
        statements.append(
            confidential + "；但材料同时包含投诉和举报内容，并且需要向被举报人提供组织调解所必需信息的除外。"
        )
    jurisdiction, forum_articles = _jurisdiction(case, respondent, report=True)
    articles = (() if report_only else (9, 27)) + (28, 37) + forum_articles
    if BULK_PURCHASE in codes:
        articles += (16, 17)
    return {
        "title": "举报",
        "reported": {"name": respondent["name"], "address": respondent["address"],
                     "platform": dict(respondent["platform"])},
        "facts": _report_facts_text(case, report_only) or TODO,
        "basis": basis,
        "provisions_breached": breached,
        "statements": statements,
        "jurisdiction": jurisdiction,
        "provisions": _measures_quotes(*sorted(set(articles))),
        "reason_codes": sorted(c for c in codes if c.startswith(("REPORT_", "COMPLAINT_", "BULK_PURCHASE_"))),
    }


def build_package(session: Session, case_no: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The structured complaint (and, when the decision recommends one, report) as a JSON-able dict
    (see module docstring for the fields)."""
    case = get_case(session, case_no)
    session.refresh(case)
    cfg = platform_config(case)
    consumer = case.consumer
    merchant = case.merchant
    has_report, report_only = _report_flags(case.decision)
    kind = "report" if report_only else "complaint_and_report" if has_report else "complaint"
    complainant = {
        "name": consumer.name or TODO,
        "phone": consumer.phone or TODO,
        "address": consumer.address or TODO,
    }
    respondent = {
        "name": (merchant.name if merchant else None) or TODO,
        "address": (merchant.address if merchant else None) or TODO,
        "platform": {
            "name": platform_display(case),
            "operator": cfg.operator,
            "address": cfg.address,
        },
    }
    if report_only:
        request_text, facts_text = None, None
        jurisdiction, forum_articles = _jurisdiction(case, respondent, report=True)
        filing_articles: tuple[int, ...] = (8, 28, *forum_articles, 37)
    else:
        request_text = _request_text(case) or TODO
        facts_text = _facts_text(case) or TODO
        jurisdiction, forum_articles = _jurisdiction(case, respondent, report=False)
        filing_articles = tuple(sorted({*_FILING_ARTICLES, *forum_articles}))
    pkg: dict[str, Any] = {
        "format": FORMAT,
        "kind": kind,
        "title": "举报材料" if report_only else "消费者投诉材料",
        "case_no": case.case_no,
        "generated_at": (now or case.updated_at).isoformat(),
        "required_by": REPORT_REQUIRED_BY if report_only else REQUIRED_BY,
        "complainant": complainant,
        "respondent": respondent,
        "request": request_text,
        "facts": facts_text,
        "order": {k: case.facts.get(k) for k in ("order_id", "product", "category", "price_yuan", "order_date",
                                                 "signed_date") if case.facts.get(k) not in (None, "")},
        "negotiation": {
            "rounds": case.round,
            "offers": [
                {"round": o.round, "remedy": o.remedy, "amount": None if o.amount is None else str(o.amount),
                 "status": o.status, "at": format_local(o.created_at), "message": o.message}
                for o in case.offers
            ],
        },
        "timeline": [
            {"at": format_local(e.at), "event": _event_label(e), "actor": actor_label(e.actor)}
            for e in case_events(case)
            if not e.type.startswith("webhook_")
            or (e.type == "webhook_delivered" and (e.payload or {}).get("kind") == "settlement_request")
        ],
        "evidence_index": [
            {"no": i, "filename": e.filename, "description": e.description, "sha256": e.sha256,
             "uploaded_at": format_local(e.uploaded_at)}
            for i, e in enumerate(case.evidence, start=1)
        ],
        "legal_basis": [q for b in legal_basis_of(case.decision) if (q := _quote(b["law"], b["article"]))],
        "filing": {
            "channels": "全国12315平台（www.12315.cn）、12315热线或市场监督管理部门公布的邮寄地址、受理窗口",
            "jurisdiction": jurisdiction,
            "provisions": _measures_quotes(*filing_articles),
        },
        "report": _report_part(case, respondent, report_only) if has_report else None,
    }
    if report_only:
        pkg["missing"] = [
            {"field": path, "label": label_, "required_by": REPORT_REQUIRED_BY}
            for path, label_ in REPORT_REQUIRED_FIELDS
            if _get(pkg, path) == TODO
        ]
    else:
        pkg["missing"] = [
            {"field": path, "label": label_, "required_by": f"{REQUIRED_BY}{item}"}
            for path, label_, item in REQUIRED_FIELDS
            if _get(pkg, path) == TODO
        ]
    return pkg


def _event_label(e) -> str:
    p = e.payload or {}
    if e.type == "state_changed":
        from disputes.states import label

        return f"状态变为「{label(p.get('to', ''))}」"
    if e.type == "package_built" and p.get("kind") == "report":
        return "已生成12315举报材料"
    if e.type in ("offer_received", "platform_accepted") and p.get("remedy"):
        money = f" {yuan(p['amount'])}" if p.get("amount") else ""
        return f"{EVENT_LABELS.get(e.type, e.type)}：{p['remedy']}{money}"
    return EVENT_LABELS.get(e.type, e.type)


def _get(d: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        d = d.get(part) if isinstance(d, dict) else None
    return d


def snapshot(package: dict[str, Any]) -> dict[str, Any]:
    """The copy kept on the escalation record: the phone number masked (the full number is only
    put into a package when it is built for export)."""
    from disputes.models import mask_phone

    out = {**package, "complainant": dict(package["complainant"])}
    if out["complainant"].get("phone") not in (None, TODO):
        out["complainant"]["phone"] = mask_phone(out["complainant"]["phone"])
    return out


def missing_labels(package: dict[str, Any]) -> list[str]:
    return [m["label"] for m in package.get("missing", [])]


# ---------------------------------------------------------------- PDF


def render_pdf(package: dict[str, Any]) -> bytes:
    """The package as an A4 PDF, in reportlab's built-in CJK font STSong-Light (no font files)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=9, leading=13, textColor=colors.HexColor("#444444"))
    h1 = ParagraphStyle("h1", parent=body, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=body, fontSize=13, leading=20, spaceBefore=10, spaceAfter=4)
    todo_color = "#c0392b"

    def p(text: Any, style=body) -> Paragraph:
        s = escape("" if text is None else str(text))
        s = s.replace(TODO, f'<font color="{todo_color}">{TODO}</font>').replace("\n", "<br/>")
        return Paragraph(s, style)

    def table(rows: list[list[Any]], widths: list[float]) -> Table:
        t = Table([[p(c) if not isinstance(c, Paragraph) else c for c in r] for r in rows], colWidths=widths)
        t.setStyle(TableStyle([
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
            ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        return t

    c, r = package["complainant"], package["respondent"]
    story: list[Any] = [
        p(package.get("title", "消费者投诉材料"), h1),
        p(f"案件编号：{package['case_no']}　生成时间：{format_local(datetime.fromisoformat(package['generated_at']))}"
          f"　依据：{package['required_by']}", small),
        Spacer(1, 4 * mm),
    ]
    if package.get("missing"):
        story.append(p("提交前请补充：" + "、".join(m["label"] for m in package["missing"]) + f"（标注为{TODO}）"))
    report = package.get("report")
    wide = [35 * mm, 135 * mm]

    def party(rows: dict[str, Any]) -> Table:
        pl = rows.get("platform") or {}
        return table([["名称（姓名）", rows["name"]], ["地址", rows["address"]],
                      ["所在平台", " ".join(x for x in (pl.get("name"), pl.get("operator")) if x)],
                      ["平台经营者地址", pl.get("address") or "—"]], wide)

    def quotes(items: list[dict[str, Any]]) -> list[Paragraph]:
        return [p(f"{q['citation']}：{q['text']}", small) for q in items] or [p("（无）")]

    def order_table() -> list[Table]:
        if not package.get("order"):
            return []
        names = {"order_id": "订单号", "product": "商品", "category": "类别", "price_yuan": "实付金额（元）",
                 "order_date": "下单日期", "signed_date": "签收日期"}
        return [table([[names.get(k, k), v] for k, v in package["order"].items()], wide)]

    def evidence() -> list[Any]:
        if package["evidence_index"]:
            return [table([["序号", "文件", "说明", "SHA-256"]] + [
                [e["no"], e["filename"], e.get("description") or "", (e.get("sha256") or "")[:16]]
                for e in package["evidence_index"]], [12 * mm, 55 * mm, 65 * mm, 38 * mm])]
        return [p("（暂无上传的证据；请附订单截图、聊天记录、商品照片等）")]

    def report_sections(numbers: list[str]) -> list[Any]:
        """The 举报 part: the reported party, facts, provisions breached, what to know, where to file."""
        n = iter(numbers)
        out: list[Any] = [p(f"{next(n)}、被举报人", h2), party(report["reported"]),
                          p(f"{next(n)}、涉嫌违法的事实与线索", h2), p(report["facts"])]
        if package.get("kind") == "report":
            out += order_table()
        out.append(p(f"{next(n)}、涉嫌违反的规定", h2))
        out += quotes(report.get("provisions_breached") or [])
        out.append(p("举报依据：", small))
        out += quotes(report.get("basis") or [])
        if package.get("kind") == "report":
            out.append(p(f"{next(n)}、证据清单", h2))
            out += evidence()
        out.append(p(f"{next(n)}、举报须知", h2))
        out += [p(text) for text in report.get("statements") or []]
        out.append(p(f"{next(n)}、提交方式与受理部门", h2))
        out.append(p(f"提交渠道：{package['filing']['channels']}。"))
        out.append(p(f"受理部门：{report['jurisdiction']}"))
        out += quotes(report.get("provisions") or [])
        return out

    if package.get("kind") == "report" and report:
        known = {k: (v if v != TODO else "（未提供）") for k, v in c.items()}
        story += [p("一、举报人", h2),
                  table([["姓名", known["name"]], ["电话号码", known["phone"]], ["通讯地址", known["address"]]], wide)]
        story += report_sections(["二", "三", "四", "五", "六", "七"])
    else:
        story += [
            p("一、投诉人", h2),
            table([["姓名", c["name"]], ["电话号码", c["phone"]], ["通讯地址", c["address"]]], wide),
            p("二、被投诉人", h2), party(r),
            p("三、投诉请求", h2), p(package["request"]),
            p("四、事实与理由", h2), p(package["facts"]),
        ]
        story += order_table()
        story.append(p("五、协商经过（时间线）", h2))
        if package["timeline"]:
            story.append(table([["时间", "事项", "操作方"]] + [[t["at"], t["event"], t["actor"]]
                                                              for t in package["timeline"]],
                               [35 * mm, 110 * mm, 25 * mm]))
        story.append(p("六、证据清单", h2))
        story += evidence()
        story.append(p("七、法律依据", h2))
        story += quotes(package["legal_basis"])
        story.append(p("八、提交方式与处理时限", h2))
        f = package["filing"]
        story.append(p(f"提交渠道：{f['channels']}。"))
        story.append(p(f"管辖：{f['jurisdiction']}"))
        story += quotes(f["provisions"])
        if report:
            story += [PageBreak(), p(report.get("title", "举报"), h1),
                      p("本部分为举报，与前述投诉分别处理；证据见投诉材料的证据清单。", small), Spacer(1, 2 * mm)]
            story += report_sections(["一", "二", "三", "四", "五"])

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"{package.get('title', '消费者投诉材料')} {package['case_no']}",
                            author="维权助手", subject="12315举报材料" if package.get("kind") == "report" else "12315投诉材料")
    doc.build(story)
    return buf.getvalue()
