"""「我理解的情况是：…」: the facts as the consumer told them, in their terms, for confirmation."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.normalize import mask_phone
from knowledge.rules.common import cn_date, yuan

CHANNELS = {
    "marketplace": "网购平台上的商家",
    "platform_self_operated": "平台自营",
    "live_stream": "直播间",
    "secondhand_marketplace": "二手平台",
    "food_delivery": "外卖平台",
    "seller_own_site": "商家自己的网站、App或小程序",
    "offline_store": "线下实体店",
}
CONDITIONS = {
    "intact": "没拆封／吊牌完好",
    "opened": "拆开查看过，未使用",
    "used": "已经使用过",
    "damaged_by_consumer": "在您这边受损",
}
FLAGS = {
    "defect": "商品有质量问题",
    "fraud": "商家有欺诈（虚假宣传、以假充真等）",
    "food_safety_violation": "食品不符合食品安全标准",
    "defect_caused_harm": "造成了人身伤害或其他财产损失",
    "custom_made": "定制商品",
    "perishable": "鲜活易腐商品",
    "service_not_goods": "购买的是服务",
    "merchant_exclusion_confirmed": "购买时确认过「不支持七天无理由」",
    "consumer_chose_carrier": "物流是您自己选的",
    "platform_knew": "平台早已知情",
    "business_stopped_service": "商家已停业或停止服务",
    "prepaid_prior_same_service": "办卡前已接受过同样的服务",
    "deposit_unreasonable_condition": "退押金被设置了不合理条件",
    "unauthorized_payment": "有未经您授权的支付",
    "payment_user_at_fault": "验证码、密码等曾被您告诉他人",
    "auto_renewal": "自动续费",
    "renewal_notice_missing": "续费前没有显著提醒",
    "cancelled_before_charge": "扣费前已关闭自动续费",
    "time_essential": "商家知道您需要在特定日期前收到",
    "endorser_involved": "有代言人或嘉宾以自己的名义推荐",
    "endorser_knew_false": "推荐者明知或应知宣传不实",
    "livestream_room_knew_violation": "直播间明知问题仍在推销",
    "cross_border": "跨境电商零售进口",
    "chinese_label_missing": "进口食品没有中文标签",
    "reporter_only": "您没有购买，只是举报",
}
CAUSES = {"business": "商家一方的原因", "consumer": "您自己的原因"}
FAULTS = {"major_part": "发动机、变速器、动力电池或驱动电机", "critical_failure": "转向或制动失效、车身开裂、燃油泄漏或电池起火",
          "serious_safety": "其他严重安全性能故障", "other": "其他故障"}
# v2 facts shown with their value: (key, label, how the value is said)
VALUES: tuple[tuple[str, str, str], ...] = (
    ("prepaid_paid_date", "预付款付款日期", "date"),
    ("prepaid_units_total", "购买总量（次、天或元）", "number"),
    ("prepaid_units_used", "已使用（次、天或元）", "number"),
    ("prepaid_list_unit_price_yuan", "打折前单价", "yuan"),
    ("prepaid_refund_cause", "退款原因", "cause"),
    ("refund_request_date", "要求退钱的日期", "date"),
    ("deposit_yuan", "押金", "yuan"),
    ("deposit_deduction_yuan", "协议约定可扣", "yuan"),
    ("loss_after_notice_yuan", "通知支付平台后又被转走", "yuan"),
    ("promised_delivery_date", "商家承诺的发货日期", "date"),
    ("delivery_reminder_date", "您催告的日期", "date"),
    ("reminder_period_days", "催告给出的期限（天）", "number"),
    ("warranty_start_date", "保修起算日期", "date"),
    ("warranty_months", "保修期（月）", "number"),
    ("warranty_exchange_date", "保修换新完成日期", "date"),
    ("warranty_repair_count", "同一问题维修次数", "number"),
    ("warranty_repair_days", "维修天数", "number"),
    ("defect_found_date", "故障出现日期", "date"),
    ("vehicle_km", "故障时行驶里程（公里）", "number"),
    ("vehicle_fault", "故障类型", "fault"),
    ("vehicle_usage_coefficient", "使用补偿系数", "percent"),
)


def _day(value: Any) -> str | None:
    try:
        return cn_date(date.fromisoformat(str(value)))
    except ValueError:
        return None


def understood(facts: dict[str, Any], story: list[str]) -> str:
    """One line per fact the decision rests on; unknowns are said to be unknown."""
    rows: list[tuple[str, str]] = []
    platform = facts.get("platform") or "未说明"
    channel = CHANNELS.get(facts.get("channel") or "")
    rows.append(("购买渠道", f"{platform}（{channel}）" if channel else platform))
    if facts.get("shop"):
        rows.append(("商家", str(facts["shop"])))
    rows.append(("商品", str(facts.get("product") or "未说明")))
    if facts.get("price_yuan") is not None:
        rows.append(("实付金额", yuan(float(facts["price_yuan"]))))
    for key, label in (("order_date", "下单日期"), ("signed_date", "签收日期"),
                       ("return_request_date", "向商家提出退货"), ("seller_received_return_date", "商家收到退货")):
        if key in facts:
            rows.append((label, _day(facts[key]) or ("未签收" if key == "signed_date" else "还没有")))
    if facts.get("condition") in CONDITIONS:
        rows.append(("商品状态", CONDITIONS[facts["condition"]]))
    flags = [label for key, label in FLAGS.items() if facts.get(key) is True]
    if flags:
        rows.append(("情况", "；".join(flags)))
    for key, label, kind in VALUES:
        if facts.get(key) is not None:
            rows.append((label, _said(facts[key], kind)))
    if facts.get("seller_reachable") is False:
        provided = facts.get("platform_provided_seller_info")
        tail = "，平台已提供商家信息" if provided is True else ("，平台未提供商家信息" if provided is False else "")
        rows.append(("商家", "联系不上" + tail))
    if facts.get("seller_said"):
        rows.append(("对方的说法", f"「{facts['seller_said']}」"))
    if facts.get("loss_yuan"):
        rows.append(("损失", yuan(float(facts["loss_yuan"]))))
    if facts.get("desired_remedy"):
        rows.append(("您的诉求", str(facts["desired_remedy"])))
    rows.append(("订单号", str(facts.get("order_id") or "未提供")))
    rows.append(("联系电话", mask_phone(facts["phone"]) if facts.get("phone") else "未提供"))
    if story:
        text = " ".join(story)
        rows.append(("您的描述", text[:120] + ("…" if len(text) > 120 else "")))
    return "\n".join(f"· {k}：{v}" for k, v in rows)


def _said(value: Any, kind: str) -> str:
    if kind == "date":
        return _day(value) or str(value)
    if kind == "yuan":
        return yuan(float(value))
    if kind == "cause":
        return CAUSES.get(str(value), str(value))
    if kind == "fault":
        return FAULTS.get(str(value), str(value))
    if kind == "percent":
        return f"{float(value) * 100:g}%"
    return f"{float(value):g}"


PROBLEMS_FILE = Path(__file__).with_name("problems.yaml")


@lru_cache(maxsize=1)
def problem_types() -> list[dict[str, Any]]:
    return yaml.safe_load(PROBLEMS_FILE.read_text(encoding="utf-8"))["problems"]


def problem_label(facts: dict[str, Any]) -> str:
    """The issue type of a complaint from its facts (the consumer's words never become a type)."""
    view = dict(facts)
    view["goods_received"] = bool(facts.get("signed_date")) and not facts.get("service_not_goods")
    view["has_deposit"] = facts.get("deposit_yuan") is not None
    view["prepaid"] = bool(facts.get("prepaid_paid_date") or facts.get("prepaid_units_total"))
    view["delivery_late"] = bool(facts.get("late_delivery") or facts.get("promised_delivery_date")
                                 or facts.get("delivery_reminder_date"))
    view["warranty"] = bool(facts.get("warranty_months") or facts.get("vehicle_fault") or facts.get("vehicle_km"))
    for entry in problem_types():
        when = entry.get("when") or {}
        if all((k in view and view[k] is None) if v is None else view.get(k) == v for k, v in when.items()):
            return str(entry["name"])
    return "其他"
