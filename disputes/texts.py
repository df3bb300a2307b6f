"""User-facing Chinese texts of the case service (notifications, timeline labels)."""

from __future__ import annotations

from decimal import Decimal

from disputes.clock import format_local

REPLY_HINT = "如同意请回复「接受」，不同意请回复「拒绝」"

EVENT_LABELS: dict[str, str] = {
    "case_created": "创建投诉",
    "state_changed": "案件状态变更",
    "settlement_requested": "已向平台发送和解请求",
    "desk_queued": "已进入平台客服处理队列",
    "webhook_delivered": "平台已收到和解请求",
    "webhook_retry": "和解请求发送失败，稍后重试",
    "webhook_failed": "和解请求无法送达平台",
    "offer_received": "收到和解方案",
    "offer_accepted": "您接受了和解方案",
    "offer_rejected": "您拒绝了和解方案",
    "offer_expired": "和解方案已过答复期限",
    "offer_withdrawn": "和解方案被新方案取代",
    "platform_accepted": "平台同意您的诉求",
    "platform_rejected": "平台拒绝了您的诉求",
    "info_requested": "平台要求补充材料",
    "round_started": "开始新一轮协商",
    "handoff_requested": "申请转人工客服",
    "escalated": "案件升级",
    "package_built": "已生成12315投诉材料",
    "seven_day_reminder": "七日无理由退货期限提醒",
    "contact_updated": "更新了联系信息",
    "evidence_added": "补充了证据材料",
    "desk_note": "客服备注",
    "desk_takeover": "平台客服已接手对话",
    "desk_message": "平台客服留言",
    "consumer_message": "消费者留言",
    "bot_resumed": "消费者切回智能助手",
    "data_erased": "案件已撤回，个人信息已删除",
}

ACTOR_LABELS = {"consumer": "您", "system": "系统", "platform": "平台", "desk": "客服"}


def actor_label(actor: str) -> str:
    return ACTOR_LABELS.get(actor.split(":", 1)[0], actor)


def yuan(amount: Decimal | float | str | None) -> str:
    if amount is None:
        return "—"
    return f"{Decimal(str(amount)).quantize(Decimal('0.01'))}元"


def claim_breakdown(items: list[dict], *, with_basis: bool = False) -> str:
    """A demand item by item with its total, e.g. 「退还货款199.00元；赔偿实际损失300.00元；增加赔偿
    597.00元（价款199.00元的三倍，不足500元的为500元）；合计1096.00元」 (items from
    `negotiation.claim_items`; `with_basis` adds the cited articles)."""
    parts = []
    for i in items:
        extra = [i["note"]] if i.get("note") else []
        if with_basis and i.get("basis"):
            extra.append("依据" + "、".join(b["citation"] for b in i["basis"]))
        parts.append(f"{i['label']}{yuan(i['amount_yuan'])}" + (f"（{'，'.join(extra)}）" if extra else ""))
    if len(items) > 1:
        total = sum((Decimal(str(i["amount_yuan"])) for i in items), Decimal("0"))
        parts.append(f"合计{yuan(total)}")
    return "；".join(parts)


def submitted(case_no: str) -> str:
    return f"您的投诉已提交，案件编号 {case_no}。我们会把您的诉求发送给平台，有进展会第一时间通知您。"


def settlement_sent(case_no: str, platform: str, deadline) -> str:
    return (
        f"案件 {case_no}：已将您的诉求发送给{platform}。按维权助手的协商规则，平台应在 {format_local(deadline)} 前答复"
        "（这是本服务给平台的答复期限，不是法定期限）；逾期未答复的，案件将自动转交平台人工客服处理。"
    )


def offer(case_no: str, platform: str, amount, remedy: str, deadline, citation: str | None,
          message: str | None) -> str:
    parts = [f"案件 {case_no}：{platform}提出和解方案——{remedy}"]
    if amount is not None:
        parts.append(f"，金额 {yuan(amount)}")
    parts.append("。")
    if citation:
        parts.append(f"平台援引的依据：{citation}。")
    if message:
        parts.append(f"平台说明：{message.rstrip('。.！!')}。")
    parts.append(f"请在 {format_local(deadline)} 前答复，{REPLY_HINT}。")
    return "".join(parts)


def platform_accepted(case_no: str, platform: str, remedy: str | None, amount) -> str:
    what = remedy or "您的诉求"
    money = f"（{yuan(amount)}）" if amount is not None else ""
    return f"好消息！案件 {case_no}：{platform}已同意{what}{money}，案件已和解。请留意平台的退款或处理进度。"


def consumer_accepted(case_no: str, remedy: str, amount) -> str:
    money = f"，金额 {yuan(amount)}" if amount is not None else ""
    return f"案件 {case_no}：您已接受和解方案（{remedy}{money}），案件已和解，我们已通知平台履行。"


def next_round(case_no: str, round_no: int, max_rounds: int, deadline) -> str:
    return (
        f"案件 {case_no}：您已拒绝该方案，我们已请平台重新答复（第{round_no}/{max_rounds}轮），"
        f"答复期限 {format_local(deadline)}。"
    )


def escalated_desk(case_no: str, platform: str, reason: str, sla) -> str:
    return (
        f"案件 {case_no}：{reason}，已转交{platform}人工客服处理。"
        f"按维权助手的协商规则，客服应在 {format_local(sla)} 前给出处理结果（这是本服务的处理时限，不是法定期限）；"
        "到期仍未解决的，我们会为您整理可向12315提交的材料。"
    )


def escalated_regulator(case_no: str, missing: list[str], kind: str = "complaint") -> str:
    """The notice that the 12315 package is ready; `kind` is the package's: complaint,
    complaint_and_report (a separate 举报 part) or report (no consumer dispute, so no complaint)."""
    measures = "《市场监督管理投诉举报处理办法》"
    if kind == "report":
        text = (
            f"案件 {case_no}：我们已为您整理好12315举报材料（含涉嫌违法的事实、证据清单和涉嫌违反的规定）。"
            "您本人与经营者之间没有消费者权益争议，只能举报，不能投诉。"
            f"您可以通过全国12315平台、12315热线或市场监管部门公布的渠道提交举报（{measures}第八条）。"
        )
        if missing:
            text += f"提交前还需补充：{'、'.join(missing)}（该办法第二十八条要求举报提供具体线索和事实依据）。"
        return text
    text = (
        f"案件 {case_no}：与平台协商未能解决，我们已为您整理好12315投诉材料（含时间线、证据清单和法律依据）。"
    )
    text += f"您可以通过全国12315平台、12315热线或市场监管部门公布的渠道提交投诉（{measures}第八条）。"
    if kind == "complaint_and_report":
        text += "材料另附单独的举报部分，市场监管部门会对投诉和举报分别处理（该办法第九条）。"
    if missing:
        text += f"提交前还需补充：{'、'.join(missing)}（该办法第十条要求投诉材料载明这些信息）。"
    return text


def info_requested(case_no: str, platform: str, message: str | None) -> str:
    what = f"：{message}" if message else ""
    return f"案件 {case_no}：{platform}请您补充材料{what}。您可以直接在对话中发送或上传。"


def platform_rejected(case_no: str, platform: str, message: str | None) -> str:
    why = f"（理由：{message}）" if message else ""
    return f"案件 {case_no}：{platform}拒绝了您的诉求{why}。"


def seven_day_reminder(case_no: str, last_day: str) -> str:
    return (
        f"提醒：案件 {case_no} 的七日无理由退货期限将于 {last_day} 届满"
        "（《网络购买商品七日无理由退货暂行办法》第十条：自签收次日起计算七日）。"
        "如平台尚未同意退货，请在期限届满前通过订单页面或客服向商家发出退货通知并截图留存，以免错过期限。"
    )


def handoff(case_no: str | None) -> str:
    if case_no:
        return f"已为案件 {case_no} 申请人工客服，客服会尽快与您联系。"
    return "已为您申请人工客服，客服会尽快与您联系。"
