"""Delivery and transport risk: 电子商务法第二十、五十二条, 快递暂行条例第二十六条, 民法典合同编.

The seller bears transport risk until the consumer signs, unless the consumer chose the carrier.
Leaving goods with a third party or a 驿站 without consent is not 签收. Goods lost on the way are the
seller's loss (民法典第六百零四条). Late delivery is a breach (第五百七十七条); it lets the consumer
rescind only after a 催告 whose period has run out, when lateness defeats the purpose, or when the
seller refuses to perform (第五百六十三条); rescission takes effect as 第五百六十五条 says and the
price comes back (第五百六十六条).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .common import Finding, cn_date
from .facts import Facts


@dataclass
class Delivery(Finding):
    active: bool = False
    goods_stay: bool = False  # nothing goes back to the seller on this route
    can_rescind: bool | None = None  # None: delivery timing is not at issue
    refund_amount: float | None = None


def assess(f: Facts) -> Delivery:
    d = Delivery()
    carrier_damage = f.condition == "damaged_by_consumer" or f.flag("transit_damage")
    if f.flag("consumer_chose_carrier") and carrier_damage:
        d.active = True
        d.goods_stay = True
        d.code("CONSUMER_CHOSEN_CARRIER")
        d.cite("consumer_chosen_carrier")
        d.remedy("claim_against_carrier")
        d.note("您另行选择了物流服务提供者，运输中的风险不由商家承担，应向您选定的承运人索赔。")
    elif f.flag("transit_damage"):
        d.active = True
        d.code("SELLER_BEARS_TRANSIT_RISK")
        d.cite("seller_transit_risk")
        d.note("签收前商品运输中的风险和责任由商家承担，运输途中损坏应由商家负责。")
    marked = f.date("logistics_marked_signed_date")
    if marked is not None and f.date("signed_date") is None:
        d.active = True
        d.code("DELIVERY_TO_THIRD_PARTY_WITHOUT_CONSENT")
        d.cite("third_party_delivery")
        d.remedy("demand_performance", "refund")
        d.note("物流显示“已签收”但您本人未签收、也未同意由他人或驿站代收，不构成签收，商品视为尚未交付。")
        if not f.flag("consumer_chose_carrier"):
            d.code("SELLER_BEARS_TRANSIT_RISK")
            d.cite("seller_transit_risk")
            d.note("交付前的风险由商家承担：商品丢失的，商家应重新发货或退款。")
    if f.flag("goods_lost") and f.date("signed_date") is None and not f.flag("consumer_chose_carrier"):
        d.active = True
        d.code("SELLER_BEARS_TRANSIT_RISK")
        d.cite("lost_in_transit")
        d.remedy("demand_performance", "refund")
        d.note("商品在交付您之前丢失的，风险由商家承担：商家应当重新发货或者退款，不能让您找快递公司。")
    if _late(f):
        d.active = True
        d.code("LATE_DELIVERY")
        _rescission(f, d)
    return d


def _late(f: Facts) -> bool:
    """Not delivered and past the promised date (or the story says the seller is late)."""
    if f.date("signed_date") is not None:
        return False
    promised = f.date("promised_delivery_date")
    now = f.date("complaint_date") or f.today
    return (promised is not None and now > promised) or f.flag("late_delivery")


def _rescission(f: Facts, d: Delivery) -> None:
    """民法典第五百六十三条第一款第（三）（四）项: when lateness lets the consumer rescind."""
    now = f.date("complaint_date") or f.today
    reminder, period = f.date("delivery_reminder_date"), f.number("reminder_period_days")
    if f.flag("time_essential"):
        _rescind(f, d, "RESCISSION_PURPOSE_FRUSTRATED",
                 "商家知道您需要在特定日期前收到商品，迟延交付使合同目的不能实现，您可以不经催告直接解除合同、要求退款。")
    elif reminder is not None and period is not None:
        end: date = reminder + timedelta(days=period)
        if now > end:
            _rescind(f, d, "RESCISSION_AFTER_REMINDER",
                     f"您{cn_date(reminder)}催告并给了{period}天（到{cn_date(end)}），期满仍未发货，"
                     f"从{cn_date(end + timedelta(days=1))}起可以解除合同、要求退还货款；解除通知到达商家时合同解除"
                     "（催告时已写明到期不发货即取消的，期满时解除）。")
        else:
            d.can_rescind = False
            d.code("REMINDER_PERIOD_RUNNING")
            d.cite("delivery_reminder_running")
            d.remedy("demand_performance")
            d.note(f"您已催告，给出的期限到{cn_date(end)}，期满仍未发货的，从{cn_date(end + timedelta(days=1))}起可以解除合同。")
    else:
        d.can_rescind = False
        d.code("REMINDER_REQUIRED")
        d.cite("delivery_reminder_needed")
        d.remedy("send_delivery_reminder", "demand_performance")
        if f.is_platform_channel:
            d.remedy("platform_mediation")
        d.note("商家超过承诺时间未发货属于违约，可以要求继续发货并赔偿损失；要单方解除合同，需先催告并给一个合理期限"
               "（例如3天），期满仍不发货才可以解除，也可以与商家协商取消订单。")


def _rescind(f: Facts, d: Delivery, code: str, note: str) -> None:
    d.can_rescind = True
    d.code(code)
    d.cite("delivery_rescission")
    d.remedy("rescind_contract", "refund")
    d.refund_amount = f.price
    d.note(note)
