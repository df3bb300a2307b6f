"""Punitive damages: 消法第五十五条第一款 (fraud, 3×, at least 500), 第二款 (defective goods supplied
knowingly that caused death or serious harm to health: up to 2× the loss) and 食品安全法第一百四十八条
第二款 (food below safety standards: the larger of 10× the price and 3× the loss, at least 1000; for a
buyer who knew, 10× only of what reasonable living consumption needs, 食药解释第十二、十三条).

Where several regimes apply to the same facts the largest is the decision's `punitive` and the
others are its `alternatives` (the consumer chooses: 食药解释第九条; whether 第五十五条 两款 can be
combined is not settled).

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
class Regime:
    """One way of computing the increment: `multiple` × `base_yuan` (the price or the loss)."""

    multiple: int
    minimum_yuan: int
    amount_yuan: float | None
    basis: list[tuple[str, int]]
    against: list[str]
    measure: str | None = "price"
    base_yuan: float | None = None
    up_to: bool = False

    def as_dict(self) -> dict:
        return {
            "multiple": self.multiple,
            "minimum_yuan": self.minimum_yuan,
            "amount_yuan": money_value(self.amount_yuan),
            "basis": [{"law": law, "article": art} for law, art in self.basis],
            "against": list(self.against),
            "measure": self.measure,
            "base_yuan": money_value(self.base_yuan),
            "up_to": self.up_to,
        }


@dataclass
class Punitive(Finding):
    multiple: int = 0
    minimum_yuan: int = 0
    amount_yuan: float | None = 0
    punitive_basis: list[tuple[str, int]] = field(default_factory=list)
    against: list[str] = field(default_factory=list)
    measure: str | None = None
    base_yuan: float | None = None
    up_to: bool = False
    alternatives: list[Regime] = field(default_factory=list)
    active: bool = False  # a punitive claim (or its rejection) is what the case turns on
    regime: str | None = None  # food | fraud | known_defect: which claim the decision makes

    def as_dict(self) -> dict:
        """The decision's regime in the eval shape (no regime: multiple 0, measure null)."""
        chosen = Regime(self.multiple, self.minimum_yuan, self.amount_yuan, self.punitive_basis, self.against,
                        measure=self.measure, base_yuan=self.base_yuan, up_to=self.up_to)
        return chosen.as_dict()

    def take(self, regimes: list[Regime]) -> None:
        """The largest regime becomes the decision; the others are listed as alternatives."""
        regimes = [r for r in regimes if r is not None]
        if not regimes:
            return
        regimes.sort(key=lambda r: -(r.amount_yuan if r.amount_yuan is not None else r.multiple))
        best, self.alternatives = regimes[0], regimes[1:]
        self.multiple, self.minimum_yuan, self.amount_yuan = best.multiple, best.minimum_yuan, best.amount_yuan
        self.punitive_basis, self.against = list(best.basis), list(best.against)
        self.measure, self.base_yuan, self.up_to = best.measure, best.base_yuan, best.up_to


def assess(f: Facts, live_room_liable: bool = False) -> Punitive:
    p = Punitive()
    if f.seller_type == "individual_non_business":
        if f.flag("fraud") or f.flag("food_safety_violation"):
            p.note("卖家不是经营者，消费者权益保护法和食品安全法上的惩罚性赔偿不适用。")
        return p
    food = _food(f, p)
    harm = _known_defect_harm(f, p)
    # With a known defect that caused serious harm, 第五十五条第二款 is the claim; the 3× fraud
    # figure is only listed as the alternative the consumer may choose instead.
    fraud = _fraud(f, p, live_room_liable, food_applies=food, quiet=harm is not None)
    regimes = [r for r in (food, fraud, harm) if isinstance(r, Regime)]
    p.take(regimes)
    p.active = bool(food or fraud or harm or p.codes)
    if p.multiple:
        p.regime = "food" if food is not None and p.punitive_basis == food.basis else (
            "known_defect" if harm is not None and p.up_to else "fraud")
        if p.regime == "fraud":
            p.violation("fraud_misleading" if _misleading(f) else "fraud")
    return p


def _misleading(f: Facts) -> bool:
    """Deceit by what was said or shown (处罚办法第六条) rather than by the goods themselves (第五条)."""
    return f.flag("misleading_promotion") or f.flag("endorser_involved")


def _known_defect_harm(f: Facts, p: Punitive) -> Regime | None:
    """消法第五十五条第二款: known defects that caused death or serious harm to health."""
    knew = f.flag("seller_knew_defect")
    injury = f.text("injury")
    if not (knew and f.flag("defect_caused_harm")):
        return None
    if injury != "serious_or_death":
        if injury:
            p.code("INJURY_NOT_SERIOUS_NO_2X")
            p.note("造成了伤害，但不属于死亡或健康严重损害，不适用所受损失二倍以下的惩罚性赔偿。")
        return None
    loss = f.money("loss_yuan")
    p.code("KNOWN_DEFECT_SERIOUS_HARM_2X")
    p.cite("known_defect_harm_basis")
    p.remedy("compensate_losses", "punitive_damages", "claim_producer", "lawsuit")
    p.violation("known_defect")
    if loss is None:
        p.note("经营者明知商品存在缺陷仍然提供，造成健康严重损害的，可主张所受损失二倍以下的惩罚性赔偿（损失金额待确定）。")
    else:
        p.note(f"经营者明知缺陷仍提供并造成健康严重损害：可主张所受损失{yuan(loss)}的二倍以下，即最多{yuan(2 * loss)}。")
    return Regime(2, 0, None if loss is None else 2 * loss, blocks("fraud_basis"), [SELLER],
                  measure="loss", base_yuan=loss, up_to=True)


def _food(f: Facts, p: Punitive) -> Regime | None:
    unlabelled_import = f.flag("chinese_label_missing")
    if not (f.flag("food_safety_violation") or unlabelled_import):
        return None
    if f.flag("food_label_minor_flaw_only") and not unlabelled_import:
        p.code("FOOD_LABEL_MINOR_FLAW_NO_PUNITIVE")
        p.cite("food_label_minor_flaw")
        p.note("食品标签、说明书的瑕疵既不影响食品安全也不会误导消费者，不适用十倍赔偿。")
        return None
    price = f.price
    basis = blocks("food_basis")
    p.cite("food_basis")
    if f.flag("bought_knowing_defect") and price is not None:
        quantity, reasonable = f.number("quantity"), f.number("reasonable_quantity")
        basis = basis + blocks("knowing_buyer")
        p.cite("knowing_buyer_refund")
        if quantity and reasonable is not None and 0 <= reasonable < quantity:
            p.code("KNOWING_PURCHASE_CAPPED")
            price_base = price * reasonable / quantity
            p.note(f"明知不符合食品安全标准仍购买的，只在合理生活消费需要（{reasonable}/{quantity}）范围内计算十倍："
                   f"基数{yuan(price_base)}；已付的全部价款仍可要求返还。")
            price = price_base
        else:
            p.code("KNOWING_PURCHASE_WITHIN_NEED")
            p.note("明知仍购买，但数量在合理生活消费需要范围内，仍按全部价款计算十倍。")
    ten = increment(price, FOOD_MULTIPLE, FOOD_MINIMUM)
    regime = Regime(FOOD_MULTIPLE, FOOD_MINIMUM, ten, basis, [], measure="price", base_yuan=price)
    loss = f.money("loss_yuan")
    if loss and price is not None and 3 * loss > max(FOOD_MULTIPLE * price, FOOD_MINIMUM):
        regime = Regime(3, FOOD_MINIMUM, 3 * loss, basis, [], measure="loss", base_yuan=loss)
        p.code("FOOD_3X_LOSS")
        p.note(f"食品安全惩罚性赔偿按损失三倍计算更高：{yuan(loss)}×3={yuan(3 * loss)}（价款十倍为{yuan(FOOD_MULTIPLE * price)}）。")
    else:
        p.code("FOOD_10X")
        if price is not None and FOOD_MULTIPLE * price < FOOD_MINIMUM:
            p.code("FOOD_MINIMUM_1000")
        p.note(_computation("食品安全惩罚性赔偿", price, FOOD_MULTIPLE, FOOD_MINIMUM))
    p.note("十倍赔偿不以造成人身损害为条件：食品不符合食品安全标准即可主张。")
    deemed = _deemed_knowing(f, p)
    if f.flag("seller_is_producer") or f.flag("small_workshop") or f.channel == "food_delivery":
        regime.against = [PRODUCER]
        p.note("店家自己生产加工该食品，作为生产者承担惩罚性赔偿责任，不以明知为要件。")
    elif f.flag("seller_knew_food_violation") or deemed:
        regime.against = [SELLER]
        p.note("销售者明知食品不符合食品安全标准仍然销售，可以向销售者主张惩罚性赔偿。")
    else:
        regime.against = [PRODUCER]
        p.code("FOOD_PRODUCER_LIABLE_WITHOUT_KNOWLEDGE")
        p.remedy("claim_producer")
        p.note("没有证据表明销售者明知，惩罚性赔偿应向生产者主张（生产者不以明知为要件）；损失赔偿仍可先找销售者（首负责任制）。")
    if unlabelled_import:
        p.code("IMPORTED_FOOD_NO_CHINESE_LABEL")
        p.cite("imported_food_no_label")
        p.violation("imported_food_no_label")
        p.note("进口预包装食品应当有中文标签；没有中文标签的，不能以“标签瑕疵”抗辩。")
    elif f.flag("small_workshop"):
        p.cite("food_small_workshop")
        p.violation("food_standard")
    elif f.flag("bought_knowing_defect"):
        p.violation("food_standard")
    else:
        p.cite("food")
        p.violation("food_standard")
    if f.flag("export_standard_defence"):
        p.code("IMPORT_INSPECTION_NO_DEFENCE")
        p.cite("import_inspection_no_defence")
        p.note("进口食品不符合我国食品安全国家标准的，经营者不能以符合出口国标准或已经检验检疫为由免责。")
    if f.flag("defect_caused_harm") and (f.text("injury") in ("injury", "serious_or_death") or f.flag("harm_personal_injury")):
        p.cite("injury_losses")
        p.remedy("compensate_losses")
    p.remedy("refund", "punitive_damages")
    return regime


def _deemed_knowing(f: Facts, p: Punitive) -> bool:
    """食品安全民事纠纷解释（一）第六条: expired food on sale, or no lawful source, is 明知."""
    if f.flag("no_legal_source"):
        p.code("SELLER_KNEW_NO_LEGAL_SOURCE")
        p.cite("food_deemed_knowing")
        p.note("销售者不能提供合法进货来源（如报关单、检验检疫证明），视为明知。")
        return True
    if f.flag("food_expired"):
        p.cite("food_deemed_knowing")
        p.note("销售已过保质期的食品，视为明知。")
        return True
    return False


def _fraud(f: Facts, p: Punitive, live_room_liable: bool, food_applies: Regime | None,
           quiet: bool = False) -> Regime | bool | None:
    """消法第五十五条第一款; `quiet` computes the figure only (it is an alternative, not the claim)."""
    if not f.flag("fraud"):
        return None
    if quiet and not food_applies:
        return Regime(FRAUD_MULTIPLE, FRAUD_MINIMUM, increment(f.price, FRAUD_MULTIPLE, FRAUD_MINIMUM),
                      blocks("fraud_basis"), [LIVE_ROOM] if live_room_liable else [SELLER],
                      measure="price", base_yuan=f.price)
    if f.flag("food_label_minor_flaw_only"):
        p.code("LABEL_FLAW_NO_FRAUD")
        p.cite("label_flaw_no_fraud")
        p.note("标签标识瑕疵不影响商品质量、也不会误导消费者的，不构成欺诈。")
        return None
    if food_applies:
        p.code("FOOD_10X_CHOSEN_OVER_FRAUD_3X")
        p.cite("food_over_fraud")
        p.note("同时构成欺诈的，可在食品安全法十倍与消法三倍之间择一主张；十倍金额更高。")
        return True
    price = f.price
    p.code("FRAUD_3X")
    if price is not None and FRAUD_MULTIPLE * price < FRAUD_MINIMUM:
        p.code("FRAUD_MINIMUM_500")
    p.note(_computation("欺诈惩罚性赔偿", price, FRAUD_MULTIPLE, FRAUD_MINIMUM))
    p.cite("fraud_misleading_promotion" if _misleading(f) else "fraud")
    p.remedy("refund", "punitive_damages")
    if f.flag("defect_caused_harm") and f.flag("harm_personal_injury") and not f.flag("seller_knew_defect"):
        p.note("如经营者明知缺陷仍提供并造成死亡或健康严重损害，还可另行主张所受损失二倍以下的惩罚性赔偿（需个案认定）。")
    return Regime(FRAUD_MULTIPLE, FRAUD_MINIMUM, increment(price, FRAUD_MULTIPLE, FRAUD_MINIMUM),
                  blocks("fraud_basis"), [LIVE_ROOM] if live_room_liable else [SELLER],
                  measure="price", base_yuan=price)


def _computation(title: str, price: float | None, multiple: int, minimum: int) -> str:
    if price is None:
        return f"{title}：价款不明，按价款{multiple}倍计算，不足{minimum}元的按{minimum}元。"
    raw = multiple * price
    if raw < minimum:
        return f"{title}：{yuan(price)}×{multiple}={yuan(raw)}，不足{minimum}元，按{minimum}元计。"
    return f"{title}：{yuan(price)}×{multiple}={yuan(raw)}（不足{minimum}元的按{minimum}元）。"
