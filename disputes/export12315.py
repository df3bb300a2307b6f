"""Tier-2 escalation: the 12315 complaint package (JSON + PDF).

Follows 《市场监督管理投诉举报处理办法》(总局令第121号, in force 2026-04-15) 第十条: a complaint
carries (一) the complainant's name, phone and postal address, (二) the respondent's name and
address, (三) the concrete request and the facts. Anything we do not have is listed under
`missing` and printed as 待补充, so the consumer knows what to add before filing. Texts are
templates filled with stored facts, and legal provisions are quoted verbatim from the corpus.
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
from disputes.texts import EVENT_LABELS, actor_label, yuan

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
_FILING_ARTICLES = (8, 13, 15, 16, 23)


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
        return f"请求被投诉人依法赔偿{money}。" if money else "请求被投诉人依法承担赔偿责任。"
    if remedy == "补偿":
        return f"请求被投诉人补偿{money}。" if money else "请求被投诉人给予合理补偿。"
    desired = case.facts.get("desired_remedy")
    return f"请求被投诉人：{desired}。" if desired else None


def _facts_text(case: Case) -> str | None:
    f = case.facts
    if not (f.get("problem") or f.get("description")):
        return None
    parts = []
    bought = []
    if f.get("order_date"):
        bought.append(f"{f['order_date']}")
    where = f"在{platform_display(case)}平台"
    if f.get("shop"):
        where += f"「{f['shop']}」"
    bought.append(f"投诉人{where}购买{f.get('product') or '商品'}")
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
    if case.submitted_at:
        parts.append(f"投诉人于{format_local(case.submitted_at)}通过维权助手向平台提出诉求（案件编号{case.case_no}）")
        offers = [o for o in case.offers if o.kind == "counter_offer"]
        if offers:
            parts.append(f"，平台共提出{len(offers)}次和解方案，均未达成一致")
        parts.append("，协商未能解决。")
    return "".join(parts)


def build_package(session: Session, case_no: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The structured complaint as a JSON-able dict (see module docstring for the fields)."""
    case = get_case(session, case_no)
    session.refresh(case)
    cfg = platform_config(case)
    consumer = case.consumer
    merchant = case.merchant
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
    request_text = _request_text(case) or TODO
    facts_text = _facts_text(case) or TODO
    pkg: dict[str, Any] = {
        "format": FORMAT,
        "title": "消费者投诉材料",
        "case_no": case.case_no,
        "generated_at": (now or case.updated_at).isoformat(),
        "required_by": REQUIRED_BY,
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
            "jurisdiction": "对平台内经营者的投诉，由其在平台公示的地址所在地或平台经营者住所地县级市场监督管理部门处理；"
                            "经营者未公示地址或无法联系的，由平台经营者住所地的部门处理。",
            "provisions": [q for n in _FILING_ARTICLES if (q := _quote(MEASURES, n))],
        },
    }
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
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

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
    plat = r.get("platform") or {}
    story: list[Any] = [
        p(package.get("title", "消费者投诉材料"), h1),
        p(f"案件编号：{package['case_no']}　生成时间：{format_local(datetime.fromisoformat(package['generated_at']))}"
          f"　依据：{package['required_by']}", small),
        Spacer(1, 4 * mm),
    ]
    if package.get("missing"):
        story.append(p("提交前请补充：" + "、".join(m["label"] for m in package["missing"]) + f"（标注为{TODO}）"))
    story += [
        p("一、投诉人", h2),
        table([["姓名", c["name"]], ["电话号码", c["phone"]], ["通讯地址", c["address"]]], [35 * mm, 135 * mm]),
        p("二、被投诉人", h2),
        table([["名称（姓名）", r["name"]], ["地址", r["address"]],
               ["所在平台", " ".join(x for x in (plat.get("name"), plat.get("operator")) if x)],
               ["平台经营者地址", plat.get("address") or "—"]], [35 * mm, 135 * mm]),
        p("三、投诉请求", h2), p(package["request"]),
        p("四、事实与理由", h2), p(package["facts"]),
    ]
    if package.get("order"):
        names = {"order_id": "订单号", "product": "商品", "category": "类别", "price_yuan": "实付金额（元）",
                 "order_date": "下单日期", "signed_date": "签收日期"}
        story.append(table([[names.get(k, k), v] for k, v in package["order"].items()], [35 * mm, 135 * mm]))
    story.append(p("五、协商经过（时间线）", h2))
    if package["timeline"]:
        story.append(table([["时间", "事项", "操作方"]] + [[t["at"], t["event"], t["actor"]]
                                                          for t in package["timeline"]],
                           [35 * mm, 110 * mm, 25 * mm]))
    story.append(p("六、证据清单", h2))
    if package["evidence_index"]:
        story.append(table([["序号", "文件", "说明", "SHA-256"]] + [
            [e["no"], e["filename"], e.get("description") or "", (e.get("sha256") or "")[:16]]
            for e in package["evidence_index"]], [12 * mm, 55 * mm, 65 * mm, 38 * mm]))
    else:
        story.append(p("（暂无上传的证据；请附订单截图、聊天记录、商品照片等）"))
    story.append(p("七、法律依据", h2))
    for q in package["legal_basis"]:
        story.append(p(f"{q['citation']}：{q['text']}", small))
    if not package["legal_basis"]:
        story.append(p("（无）"))
    story.append(p("八、提交方式与处理时限", h2))
    f = package["filing"]
    story.append(p(f"提交渠道：{f['channels']}。"))
    story.append(p(f"管辖：{f['jurisdiction']}"))
    for q in f["provisions"]:
        story.append(p(f"{q['citation']}：{q['text']}", small))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"消费者投诉材料 {package['case_no']}",
                            author="维权助手", subject="12315投诉材料")
    doc.build(story)
    return buf.getvalue()
