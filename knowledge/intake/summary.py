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
}


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


PROBLEMS_FILE = Path(__file__).with_name("problems.yaml")


@lru_cache(maxsize=1)
def problem_types() -> list[dict[str, Any]]:
    return yaml.safe_load(PROBLEMS_FILE.read_text(encoding="utf-8"))["problems"]


def problem_label(facts: dict[str, Any]) -> str:
    """The issue type of a complaint from its facts (the consumer's words never become a type)."""
    view = dict(facts)
    view["goods_received"] = bool(facts.get("signed_date")) and not facts.get("service_not_goods")
    for entry in problem_types():
        when = entry.get("when") or {}
        if all((k in view and view[k] is None) if v is None else view.get(k) == v for k, v in when.items()):
            return str(entry["name"])
    return "其他"
