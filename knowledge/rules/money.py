"""Money rules: what is refunded, by when, and what promises are worth.

No-reason refunds (七日办法第十二至十七条): the refund is what the consumer actually paid; coupons
and points come back in kind; the consumer's own card fee may be kept; gifts go back or are paid
for; a partial return that breaks a 满减 threshold is settled at list prices. The refund is due
within 7 days of the seller receiving the goods (消法第二十五条第三款, 七日办法第十三条); more than 15
days is deemed deliberate delay (处罚办法第九条). Prepaid services are in prepaid.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import cn2an

from .common import Finding, cn_date, yuan
from .facts import Facts
from .seven_day import SevenDay

REFUND_DAYS = 7
DELIBERATE_DELAY_DAYS = 15

_MULTIPLE_RE = re.compile(r"(假|坏|错)一赔([0-9一二两三四五六七八九十]+)|([0-9一二两三四五六七八九十]+)\s*倍(赔|补偿|赔偿|赔付)")


@dataclass
class Money(Finding):
    refund_amount: float | None = None
    refund_due: date | None = None
    promise_compensation: float | None = None
    no_reason_issue: bool = False  # a money issue of the no-reason return is in dispute


def assess(f: Facts, seven: SevenDay, quality_route: bool) -> Money:
    m = Money()
    if seven.eligible is True and not quality_route:
        _no_reason_refund(f, m, seven)
    _promise_compensation(f, m)
    return m


def _no_reason_refund(f: Facts, m: Money, seven: SevenDay) -> None:
    price = f.price
    amount = price
    issues = False
    if f.flag("coupon_used"):
        issues = True
        m.code("COUPON_RETURNED_IN_KIND")
        m.cite("coupon")
        m.note(f"退款以实际支付的{yuan(price)}为准原路退回；用优惠券、积分抵扣的部分应以相应形式返还（退回券或积分）。")
    if f.flag("card_fee_paid"):
        issues = True
        m.code("CARD_FEE_NOT_REFUNDABLE")
        m.cite("card_fee")
        fee = f.money("card_fee_yuan")
        if f.flag("card_fee_waived_by_seller") and fee is not None and price is not None:
            amount = price - fee
            m.note(f"信用卡手续费由商家免除的，退款时可以扣除：{yuan(price)}−{yuan(fee)}={yuan(amount)}。")
        else:
            m.note("您自己支付的信用卡（分期）手续费，商家退款时可以不退；货款应按原支付方式全额退还。")
    if f.flag("gift_included"):
        issues = True
        m.code("GIFT_MUST_BE_RETURNED")
        m.cite("gift")
        m.remedy("return_gift_or_pay_gift_price")
        m.note("赠品应随商品一并退回；不能退回的，商家可以要求按事先标明的赠品价格支付。")
    partial = _partial_return(f, m)
    if partial is not None:
        issues = True
        amount = partial
    if f.flag("return_shipping_agreed_by_seller") or (seven.promise and seven.promise.pays_return_shipping):
        issues = True
        m.cite("return_shipping_agreed")
    timing = _refund_timing(f, m)
    if timing == "address":
        m.no_reason_issue = True  # in dispute, but nothing to compute
    issues |= timing == "refund"
    if issues:
        m.no_reason_issue = True
        m.refund_amount = amount


def _partial_return(f: Facts, m: Money) -> float | None:
    reduction = f.get("full_reduction")
    items = f.get("item_list_prices")
    returned = f.get("returned_list_prices")
    if not (reduction and items and returned) or f.price is None:
        return None
    threshold, discount = float(reduction[0]), float(reduction[1])
    total = sum(float(x) for x in items)
    kept = total - sum(float(x) for x in returned)
    paid = f.price
    if kept >= threshold:
        refund = paid - (kept - discount)
        m.cite("partial_return")
        m.note(f"剩余商品仍满足满{threshold:g}减{discount:g}，优惠仍由留下的商品享受，退款＝实付−(留下商品标价−优惠)："
               f"{yuan(paid)}−({yuan(kept)}−{yuan(discount)})={yuan(refund)}。")
        return refund
    m.code("PARTIAL_RETURN_DISCOUNT_RECALC")
    m.cite("partial_return")
    refund = paid - kept
    m.note(
        f"部分退货后不再满足满{threshold:g}减{discount:g}，留下的商品按购买时标价{yuan(kept)}结算："
        f"{yuan(paid)}−{yuan(kept)}={yuan(refund)}。"
    )
    return max(refund, 0.0)


def _refund_timing(f: Facts, m: Money) -> str | None:
    """"refund" when the refund's timing is in dispute, "address" when the return address is."""
    received = f.date("seller_received_return_date")
    check = f.date("complaint_date") or f.today
    requested = f.date("return_request_date")
    touched = None
    if received is not None:
        touched = "refund"
        m.refund_due = received + timedelta(days=REFUND_DAYS)
        m.cite("refund_timing")
        m.note(f"商家{cn_date(received)}收到退货，应在收到之日起七日内、最迟{cn_date(m.refund_due)}退款。")
        if f.flag("refund_paid"):
            return touched
        if check > m.refund_due:
            m.code("REFUND_OVERDUE")
            m.remedy("refund", "platform_mediation", "complaint_to_market_regulator")
            days = (check - received).days
            m.note(f"截至{cn_date(check)}已过{days}天仍未退款，已经逾期。")
            if days > DELIBERATE_DELAY_DAYS:
                m.code("REFUND_DELAY_OVER_15_DAYS")
                m.violation("unreasonable_refusal")
                m.cite("deliberate_delay")
                m.note("收到退货超过十五日无正当理由未退款，视为故意拖延。")
            else:
                m.note("尚未超过十五日，还不构成“视为故意拖延”的情形。")
        else:
            m.remedy("refund")
    elif requested is not None and f.flag("return_address_missing"):
        touched = "address"
        days = (check - requested).days
        if days > DELIBERATE_DELAY_DAYS:
            m.code("NO_RETURN_ADDRESS_OVER_15_DAYS")
            m.violation("unreasonable_refusal")
            m.cite("no_return_address")
            m.remedy("platform_mediation", "complaint_to_market_regulator")
            m.note(f"自{cn_date(requested)}提出退货已过{days}天，商家仍未提供退货地址，视为故意拖延。")
        else:
            m.cite("return_address")
            m.remedy("platform_mediation", "complaint_to_market_regulator")
            m.note(f"商家收到退货通知后应当及时提供真实、准确的退货地址和联系人；自{cn_date(requested)}起已{days}天，"
                   "尚未超过十五日，还不构成“视为故意拖延”，可先催要地址、请平台介入。")
    return touched


def _promise_compensation(f: Facts, m: Money) -> None:
    """A promised multiple (假一赔十, 三倍赔付) is owed when its trigger occurred (网消解释第十条)."""
    price = f.price
    for who in ("platform_promise", "seller_promise"):
        text = f.text(who)
        match = _MULTIPLE_RE.search(text) if text else None
        if not match or price is None:
            continue
        kind = match.group(1)
        token = match.group(2) or match.group(3)
        try:
            multiple = int(cn2an.cn2an(token, "smart"))
        except (ValueError, KeyError):
            continue
        triggered = f.flag("fraud") if kind == "假" else (f.flag("defect") or f.flag("fraud"))
        if kind == "错":
            triggered = f.flag("nonconforming") or f.flag("defect")
        if not triggered:
            continue
        m.promise_compensation = multiple * price
        if who == "seller_promise":
            m.code("SELLER_COMPENSATION_PROMISE")
            m.cite("seller_promise_compensation")
            m.remedy("honor_promise")
        m.note(f"按承诺「{text}」：{yuan(price)}×{multiple}={yuan(m.promise_compensation)}。")
        return
