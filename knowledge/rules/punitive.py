"""Punitive damages: 消法第五十五条第一款 (fraud, 3×, at least 500) and 食品安全法第一百四十八条第二款
(food below safety standards, 10×, at least 1000).

The increment is on top of the refund. A label flaw that neither affects safety/quality nor
misleads earns nothing (148条但书, 食药解释第八条, 条例第四十九条). Against a mere seller of unsafe food
the consumer must show it knew; the producer is liable without knowledge. When both apply the
consumer chooses (食药解释第九条) and the larger figure, 10×, is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .common import Finding, blocks, money_value, yuan
from .facts import Facts

FRAUD_MULTIPLE, FRAUD_MINIMUM = 3, 500
FOOD_MULTIPLE, FOOD_MINIMUM = 10, 1000

SELLER, PRODUCER, LIVE_ROOM = "销售者", "生产者", "直播间运营者"


def increment(price: float | None, multiple: int, minimum: int) -> float | None:
    """max(multiple × price, minimum); unknown price gives an unknown amount."""
    if price is None:
        return None
    return max(multiple * price, minimum)


@dataclass
class Punitive(Finding):
    multiple: int = 0
    minimum_yuan: int = 0
    amount_yuan: float | None = 0
    punitive_basis: list[tuple[str, int]] = field(default_factory=list)
    against: list[str] = field(default_factory=list)
    active: bool = False  # a punitive claim (or its rejection) is what the case turns on

    def as_dict(self) -> dict:
        return {
            "multiple": self.multiple,
            "minimum_yuan": self.minimum_yuan,
            "amount_yuan": money_value(self.amount_yuan),
            "basis": [{"law": law, "article": art} for law, art in self.punitive_basis],
            "against": list(self.against),
        }


def assess(f: Facts, live_room_liable: bool = False) -> Punitive:
    p = Punitive()
    if f.seller_type == "individual_non_business":
        if f.flag("fraud") or f.flag("food_safety_violation"):
            p.note("卖家不是经营者，消费者权益保护法和食品安全法上的惩罚性赔偿不适用。")
        return p
    food = _food(f, p)
    fraud = _fraud(f, p, live_room_liable, food_applies=food)
    p.active = food or fraud or bool(p.codes)
    return p


def _food(f: Facts, p: Punitive) -> bool:
    if not f.flag("food_safety_violation"):
        return False
    if f.flag("food_label_minor_flaw_only"):
        p.code("FOOD_LABEL_MINOR_FLAW_NO_PUNITIVE")
        p.cite("food_label_minor_flaw")
        p.note("食品标签、说明书的瑕疵既不影响食品安全也不会误导消费者，不适用十倍赔偿。")
        return False
    price = f.price
    p.multiple, p.minimum_yuan = FOOD_MULTIPLE, FOOD_MINIMUM
    p.amount_yuan = increment(price, FOOD_MULTIPLE, FOOD_MINIMUM)
    p.punitive_basis = blocks("food_basis")
    p.code("FOOD_10X")
    if price is not None and FOOD_MULTIPLE * price < FOOD_MINIMUM:
        p.code("FOOD_MINIMUM_1000")
    p.note(_computation("食品安全惩罚性赔偿", price, FOOD_MULTIPLE, FOOD_MINIMUM))
    if f.flag("seller_is_producer") or f.flag("small_workshop") or f.channel == "food_delivery":
        p.against = [PRODUCER]
        p.note("店家自己生产加工该食品，作为生产者承担十倍赔偿责任，不以明知为要件。")
    elif f.flag("seller_knew_food_violation") or f.flag("food_expired"):
        p.against = [SELLER, PRODUCER]
        p.note("销售者明知食品不符合食品安全标准仍然销售（超过保质期的视为明知），可向销售者或生产者主张。")
    else:
        p.against = [PRODUCER]
        p.code("FOOD_PRODUCER_LIABLE_WITHOUT_KNOWLEDGE")
        p.remedy("claim_producer")
        p.note("没有证据表明销售者明知，十倍赔偿应向生产者主张（生产者不以明知为要件）；损失赔偿仍可先找销售者（首负责任制）。")
    p.cite("food_small_workshop" if f.flag("small_workshop") else "food")
    p.remedy("refund", "punitive_damages")
    return True


def _fraud(f: Facts, p: Punitive, live_room_liable: bool, food_applies: bool) -> bool:
    if not f.flag("fraud"):
        return False
    if f.flag("food_label_minor_flaw_only"):
        p.code("LABEL_FLAW_NO_FRAUD")
        p.cite("label_flaw_no_fraud")
        p.note("标签标识瑕疵不影响商品质量、也不会误导消费者的，不构成欺诈。")
        return False
    if food_applies:
        p.code("FOOD_10X_CHOSEN_OVER_FRAUD_3X")
        p.cite("food_over_fraud")
        p.note("同时构成欺诈的，可在食品安全法十倍与消法三倍之间择一主张；十倍金额更高。")
        return True
    price = f.price
    p.multiple, p.minimum_yuan = FRAUD_MULTIPLE, FRAUD_MINIMUM
    p.amount_yuan = increment(price, FRAUD_MULTIPLE, FRAUD_MINIMUM)
    p.punitive_basis = blocks("fraud_basis")
    p.against = [LIVE_ROOM] if live_room_liable else [SELLER]
    p.code("FRAUD_3X")
    if price is not None and FRAUD_MULTIPLE * price < FRAUD_MINIMUM:
        p.code("FRAUD_MINIMUM_500")
    p.note(_computation("欺诈惩罚性赔偿", price, FRAUD_MULTIPLE, FRAUD_MINIMUM))
    p.cite("fraud_misleading_promotion" if f.flag("misleading_promotion") else "fraud")
    p.remedy("refund", "punitive_damages")
    if f.flag("defect_caused_harm") and f.flag("harm_personal_injury"):
        p.note("如经营者明知缺陷仍提供并造成死亡或健康严重损害，还可另行主张所受损失二倍以下的惩罚性赔偿（需个案认定）。")
    return True


def _computation(title: str, price: float | None, multiple: int, minimum: int) -> str:
    if price is None:
        return f"{title}：价款不明，按价款{multiple}倍计算，不足{minimum}元的按{minimum}元。"
    raw = multiple * price
    if raw < minimum:
        return f"{title}：{yuan(price)}×{multiple}={yuan(raw)}，不足{minimum}元，按{minimum}元计。"
    return f"{title}：{yuan(price)}×{multiple}={yuan(raw)}（不足{minimum}元的按{minimum}元）。"
