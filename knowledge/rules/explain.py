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


def _conclusion(d: Decision) -> str:
    eligible = d.seven_day_return_eligible
    if eligible is True:
        head = "可以七日无理由退货"
    elif eligible is False:
        head = "不能七日无理由退货"
    elif d.facts is not None and d.facts.signed_known and d.seven_day_deadline is None:
        head = "本纠纷不适用七日无理由退货"
    else:
        head = "是否能七日无理由退货暂无法确定"
    if d.seven_day_deadline:
        head += f"（七日期限最后一天：{cn_date(d.seven_day_deadline)}）"
    parts = [head]
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
    return "；".join(parts) + "。"


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
