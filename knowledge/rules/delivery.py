"""Delivery and transport risk: 电子商务法第二十、五十二条, 快递暂行条例第二十六条.

The seller bears transport risk until the consumer signs, unless the consumer chose the carrier.
Leaving goods with a third party or a 驿站 without consent is not 签收.
"""

from __future__ import annotations

from dataclasses import dataclass

from .common import Finding
from .facts import Facts


@dataclass
class Delivery(Finding):
    active: bool = False
    goods_stay: bool = False  # nothing goes back to the seller on this route


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
    if f.flag("late_delivery"):
        d.active = True
        d.code("LATE_DELIVERY")
        d.cite("late_delivery")
        d.remedy("demand_performance")
        d.note("经营者应当按照承诺或约定的时限交付商品。")
    return d
