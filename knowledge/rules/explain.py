"""Render a Decision as a short Chinese explanation: conclusion, computation, reasons, articles.

Templates only: the text is assembled from the labels in labels.yaml and the computation lines
the rules produced, and quotes are the verbatim corpus text. Nothing here invents legal text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from knowledge.corpus import article_label

from .common import cn_date, load_yaml, yuan

if TYPE_CHECKING:
    from .decision import Decision


def reason_label(code: str) -> str:
    return load_yaml("labels.yaml")["reasons"].get(code, code)


def remedy_label(name: str) -> str:
    return load_yaml("labels.yaml")["remedies"].get(name, name)


# Disputes the seven-day rule does not reach at all: a service, a meal, a sale in a shop, a private
# seller. Their conclusion says so instead of 「暂无法确定」.
OUT_OF_SCOPE_CODES = ("SERVICE_NOT_GOODS", "CATERING_SERVICE", "NOT_DISTANCE_SALE", "NON_BUSINESS_SELLER")


def _conclusion(d: Decision) -> str:
    eligible = d.seven_day_return_eligible
    no_goods = d.facts is not None and d.facts.flag("unauthorized_payment") and not d.facts.price
    if eligible is True:
        head = "可以七日无理由退货"
    elif eligible is False:
        head = "不能七日无理由退货"
    elif no_goods or d.report_basis and "REPORT_ONLY_NO_CONSUMER_DISPUTE" in d.reason_codes:
        head = ""
    elif any(c in d.reason_codes for c in OUT_OF_SCOPE_CODES) or (
            d.facts is not None and d.facts.signed_known and d.seven_day_deadline is None):
        head = "本纠纷不适用七日无理由退货"
    else:
        head = "是否能七日无理由退货暂无法确定"
    if d.seven_day_deadline:
        head += f"（七日期限最后一天：{cn_date(d.seven_day_deadline)}）"
    parts = [head] if head else []
    if d.punitive.multiple:
        most = "最多" if d.punitive.up_to else ""
        parts.append(f"可主张惩罚性赔偿{most}{yuan(d.punitive.amount_yuan)}（{'、'.join(d.punitive.against)}）")
    if d.platform_liable:
        parts.append("平台本身应承担责任")
    if d.refund_amount_yuan is not None:
        parts.append(f"应退金额{yuan(d.refund_amount_yuan)}")
    if d.refund_due_date:
        parts.append(f"退款期限{cn_date(d.refund_due_date)}")
    if d.promise_compensation_yuan is not None:
        parts.append(f"按承诺可得{yuan(d.promise_compensation_yuan)}")
    if d.prepaid_cooling_off_eligible is True:
        parts.append("付款七日内可全额退还预付款")
    if d.can_rescind is True:
        parts.append("现在可以解除合同")
    elif d.can_rescind is False:
        parts.append("暂不能单方解除合同")
    if d.warranty_covered is not None:
        state = "在" if d.warranty_covered else "已过"
        parts.append(f"故障出现时{state}保修（三包）期内，期限到{cn_date(d.warranty_expiry_date)}"
                     if d.warranty_covered else f"故障出现时{state}保修（三包）期（{cn_date(d.warranty_expiry_date)}届满）")
    if d.usage_compensation_yuan:
        parts.append(f"换车或退车需付使用补偿费{yuan(d.usage_compensation_yuan)}")
    if d.report_recommended:
        parts.append("经营者涉嫌违法，可以举报" if "REPORT_ONLY_NO_CONSUMER_DISPUTE" in d.reason_codes
                     else "经营者涉嫌违法，除投诉外还可以举报")
    return "；".join(parts) + "。" if parts else "请看下面的分析。"


def render(d: Decision, quotes: bool = False) -> str:
    """Chinese explanation; with `quotes` the cited articles are quoted verbatim from the corpus."""
    lines = [f"【结论】{_conclusion(d)}"]
    if d.notes:
        lines.append("【分析】")
        lines.extend(f"- {n}" for n in d.notes)
    if d.reason_codes:
        lines.append("【要点】" + "；".join(reason_label(c) for c in d.reason_codes) + "。")
    if d.suggested_remedies:
        lines.append("【建议】" + "、".join(remedy_label(r) for r in d.suggested_remedies) + "。")
    citations = d.citations()
    if citations:
        lines.append("【依据】" + "、".join(c["citation"] for c in citations))
        if quotes:
            for c in citations:
                body = c["text"].removeprefix(article_label(c["article"])).lstrip()
                lines.append(f"{c['citation']}：{body}")
    return "\n".join(lines)
