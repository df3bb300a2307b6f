"""Seven-day no-reason return: 消法第二十五条 and 网络购买商品七日无理由退货暂行办法.

The order of the checks follows the statute: scope (distance sale of goods by a business, received
by the consumer), the statutory exclusions (第六条), exclusions the seller may declare only with
the consumer's confirmation (第七条、第二十条), the window (第十条), and the condition (第八、九条).
A more favourable seller promise can override an exclusion or extend the window (网消解释第二条,
七日办法第五条).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import cn2an

from .common import Finding, cn_date
from .facts import Facts

WINDOW_DAYS = 7

_STATUTORY = (
    ("custom_made", "EXCLUDED_CUSTOM_MADE", "消费者定作的商品"),
    ("perishable", "EXCLUDED_PERISHABLE", "鲜活易腐的商品"),
    ("digital_opened", "EXCLUDED_DIGITAL_OPENED", "在线下载或者消费者拆封的数字化商品"),
    ("periodical", "EXCLUDED_PERIODICAL", "交付的报纸、期刊"),
)
_NOT_INTACT = {"used": "NOT_INTACT_USED", "damaged_by_consumer": "NOT_INTACT_DAMAGED"}
_DAYS_RE = re.compile(r"([0-9]+|[一二两三四五六七八九十百]+)\s*(?:天|日)")
_RETURN_WORDS = ("退", "无理由", "无忧")
# Words that make a seller's text a statement of the law or a restriction, not a better promise
# (网消解释第二条 needs a promise more favourable than the law): 「不支持七天无理由」, 「运费买家自理」.
_NEGATIVE_RE = re.compile(r"不支持|不予|不退|不可退|不能退|不接受|自理|买家承担|由买家|消费者承担|顾客承担|自付|概不")
# Price protection (价保/保价) promises a price, not a return window.
_PRICE_PROTECTION_RE = re.compile(r"价保|保价|价格保护")
# A seller paying the return postage: an agreement the law honours (七日办法第十八条). Return
# shipping insurance the seller gives with the order (赠送运费险) is the seller arranging that the
# postage does not fall on the consumer, so it counts; insurance the consumer bought does not.
_SHIPPING_RE = re.compile(r"包邮退|退货包运|包退运费|包来回运费|运费(由)?(商家|卖家|店铺|我们|本店)(承担|出|负责|报销)|免费退(货|换)"
                          r"|退货免运费|(赠送|送|附赠|附带|提供|含|带)运费险|运费险(由)?(商家|卖家|店铺|本店)")
_OWN_INSURANCE_RE = re.compile(r"(我|自己)[^，。；]{0,4}(买|购买|付费|花钱)[^，。；]{0,3}运费险")


@dataclass
class SellerPromise:
    """What a free-text seller promise says about no-reason returns."""

    text: str
    covers_returns: bool
    days: int | None
    pays_return_shipping: bool



def parse_promise(text: str) -> SellerPromise | None:
    """Read the return terms out of a seller's text; None when there is no text.

    Only what promises more than the law counts: a restriction (「定制商品不支持七天无理由」), the
    statutory rule restated (「退货运费由买家自理」, 「收货后7天内可退」) or price protection
    (「30天价保」) is not a promise to return.
    """
    text = (text or "").strip()
    if not text:
        return None
    negative = bool(_NEGATIVE_RE.search(text))
    price_only = bool(_PRICE_PROTECTION_RE.search(text)) and "退货" not in text
    days: list[int] = []
    for m in _DAYS_RE.finditer(text):
        try:
            days.append(int(cn2an.cn2an(m.group(1), "smart")))
        except (ValueError, KeyError):
            continue
    covers = any(w in text for w in _RETURN_WORDS) and not negative and not price_only
    longer = [d for d in days if d > WINDOW_DAYS]
    return SellerPromise(
        text=text,
        covers_returns=covers,
        days=max(longer) if longer and covers else None,
        pays_return_shipping=bool(_SHIPPING_RE.search(text)) and not negative and not _OWN_INSURANCE_RE.search(text),
    )


@dataclass
class SevenDay(Finding):
    applicable: bool | None = None
    eligible: bool | None = None
    deadline: date | None = None
    within: bool | None = None
    decided_by: str | None = None
    promise: SellerPromise | None = None
    promise_used: bool = False
    intact: bool | None = None
    # Only the goods' condition is unknown: a no-reason return is open if they are intact.
    pending_condition: bool = False
    # The notice came on the last day or the day before, or the seller said it came too late.
    timing_matters: bool = False


def assess(f: Facts) -> SevenDay:
    """Decide whether a no-reason return is available, with the reasons and the statutory window."""
    r = SevenDay(promise=parse_promise(f.text("seller_promise")))
    if not _in_scope(f, r):
        return r
    signed = f.date("signed_date")
    r.deadline = signed + timedelta(days=WINDOW_DAYS)
    notice = f.notice_date
    r.within = notice <= r.deadline
    verdict = "在期限内" if r.within else "已超过期限"
    if f.return_requested:
        when = f"您{cn_date(notice)}提出退货"
    elif f.date("complaint_date"):
        when = f"尚无退货通知，按投诉日{cn_date(notice)}计算"
    else:
        when = f"尚无退货通知，按今天{cn_date(notice)}计算"
    r.note(f"{cn_date(signed)}签收，七日期间自次日起算，最后一天为{cn_date(r.deadline)}；{when}，{verdict}。")
    unknown = False
    unknown |= _statutory_exclusions(f, r)
    unknown |= _merchant_exclusions(f, r)
    _window(f, r, notice)
    unknown |= _condition(f, r)
    if r.decided_by is None:
        if unknown:
            r.eligible = None
        else:
            r.eligible = True
            if r.within:
                r.code("WITHIN_WINDOW")
    if r.eligible is not True:
        r.codes = [c for c in r.codes if c not in ("CONDITION_INTACT", "OPENED_FOR_INSPECTION_OK")]
    _seller_text(f, r)
    if r.within and notice >= r.deadline - timedelta(days=1) or f.flag("timing_disputed"):
        r.timing_matters = True
        if f.flag("timing_disputed") and r.eligible is True:
            r.cite("window")
            r.note("是否超期看您发出退货通知的日子，之后商家拖延不影响您的退货权利。")
    if r.eligible is True and f.flag("seller_refused"):
        r.violation("unreasonable_refusal")
        r.note("商家未经您购买时确认，以“不适用七天无理由”或“已拆封”为由拒绝退货，视为无理拒绝，可以向市场监管部门举报。")
    return r


def _seller_text(f: Facts, r: SevenDay) -> None:
    """SELLER_TEXT_NOT_RETURN_PROMISE: a seller's words about returns that promise nothing extra."""
    p = r.promise
    # A text that neither overrode an exclusion, nor gave a longer window, nor took the postage on
    # itself promised nothing beyond 消法第二十五条.
    text_not_promise = p is not None and not (r.promise_used or p.days or p.pays_return_shipping)
    shipping = f.flag("seller_text_shipping") or (text_not_promise and "运费" in p.text)
    if text_not_promise or shipping or f.flag("seller_text_exclusion"):
        r.code("SELLER_TEXT_NOT_RETURN_PROMISE")
        if shipping:
            r.cite("seller_text_not_promise")
            r.note("“退货运费由买家自理”只是法定规则，不是比法律更有利的承诺，也不影响您退货。")


def _in_scope(f: Facts, r: SevenDay) -> bool:
    """Check 七日办法第二、三十六条 and 网消解释第七条; out of scope means eligible is None."""
    out = False
    if f.flag("unauthorized_payment") and not f.price:
        # A payment taken without authority: nothing was bought, so no goods and no window.
        r.applicable = False
        return False
    if f.flag("service_not_goods"):
        r.code("SERVICE_NOT_GOODS")
        r.cite("service_not_goods")
        r.note("这是服务而非商品，七日无理由退货只适用于以网络等远程方式购买的商品。")
        out = True
    # On a food-delivery app only prepared food is catering; sealed goods a shop sends through the
    # app (a charging cable from a convenience store) are an ordinary distance sale.
    meal = f.flag("food") or not f.text("product")
    if "catering" in f.category or (f.channel == "food_delivery" and meal):
        r.code("CATERING_SERVICE")
        r.note("外卖餐饮属于即时餐饮服务，不适用七日无理由退货。")
        out = True
    if f.channel == "offline_store":
        r.code("NOT_DISTANCE_SALE")
        r.cite("not_distance_sale")
        r.note("线下当面购买不属于网络、电视、电话、邮购等远程销售，不适用七日无理由退货。")
        out = True
    if f.seller_type == "individual_non_business":
        r.code("NON_BUSINESS_SELLER")
        r.cite("non_business_seller")
        r.note("卖家是偶尔出售自用闲置物品的个人，不是经营者，消费者权益保护法上的七日无理由退货不适用。")
        out = True
    elif f.channel == "secondhand_marketplace":
        r.code("BUSINESS_SELLER_SECONDHAND")
        r.cite("business_seller_secondhand")
        r.note("二手平台上的卖家实为从事经营活动的经营者，应承担经营者责任，包括七日无理由退货。")
    if out:
        r.applicable = False
        return False
    if f.date("signed_date") is None:
        if f.has("signed_date") or f.date("logistics_marked_signed_date"):
            r.code("NOT_YET_SIGNED")
            r.applicable = False
            r.note("您尚未亲自签收商品，七日期间尚未开始计算。")
        else:
            r.applicable = None
            r.note("还不知道签收日期，无法计算七日期间；请提供签收日期。")
        return False
    r.applicable = True
    return True


def _statutory_exclusions(f: Facts, r: SevenDay) -> bool:
    hit = [(key, code, label) for key, code, label in _STATUTORY if f.flag(key)]
    if not hit and "digital" in f.category and f.flag_false("digital_opened"):
        r.code("DIGITAL_NOT_OPENED")
        r.note("数字化商品只有在线下载或已拆封才不适用；未拆封的不在除外之列。")
    for _key, code, label in hit:
        r.code(code)
        r.note(f"属于法定不适用七日无理由退货的商品：{label}。")
    if not hit:
        return False
    if r.promise and r.promise.covers_returns:
        r.code("SELLER_PROMISE_OVERRIDES_EXCLUSION")
        r.promise_used = True
        r.cite("seller_promise_exclusion")
        r.note(f"但经营者承诺「{r.promise.text}」，承诺比法律更有利于消费者的，应当遵守。")
        return False
    r.decided_by = "exclusion"
    r.eligible = False
    r.cite("statutory_exclusion")
    return False


def _merchant_exclusions(f: Facts, r: SevenDay) -> bool:
    """七日办法第七、二十条: seller-declared exclusions bind only after the consumer confirmed."""
    category = f.get("merchant_exclusion_category")
    confirmed = f.get("merchant_exclusion_confirmed")
    if category is True and confirmed is True:
        r.code("EXCLUSION_CONFIRMED")
        r.note("该商品属于可经消费者确认不适用七日无理由退货的商品，且您在购买时已确认。")
        if r.decided_by is None and r.promise and r.promise.covers_returns:
            r.code("SELLER_PROMISE_OVERRIDES_EXCLUSION")
            r.promise_used = True
            r.cite("seller_promise_window")
            r.note(f"但经营者承诺「{r.promise.text}」，应当履行。")
        elif r.decided_by is None:
            r.decided_by = "merchant_exclusion"
            r.eligible = False
            r.cite("merchant_exclusion_confirmed")
        return False
    if category is True and confirmed is False:
        r.code("EXCLUSION_NOT_CONFIRMED")
        r.cite("merchant_exclusion_not_confirmed")
        r.note("商家可声明不适用的商品，必须在购买流程中经您逐次确认；未经确认，商家不得拒绝七日无理由退货。")
        return False
    if category is not True and confirmed is True:
        r.code("EXCLUSION_CATEGORY_INVALID")
        r.cite("exclusion_category_invalid")
        r.note("该商品不属于法定或可经确认不退的商品范围，商家不得擅自扩大不适用范围，您的确认不影响退货权利。")
        return False
    if category is True and confirmed is None:
        r.note("该商品可能属于经确认不适用七日无理由退货的商品，需要核实您购买时是否点击确认过。")
        return r.decided_by is None
    return False


def _window(f: Facts, r: SevenDay, notice: date) -> None:
    if r.within:
        return
    r.code("OUTSIDE_WINDOW")
    p = r.promise
    if p and p.days and p.days > WINDOW_DAYS and notice <= f.date("signed_date") + timedelta(days=p.days):
        r.code("SELLER_PROMISE_EXTENDED_WINDOW")
        r.promise_used = True
        r.cite("seller_promise_window")
        r.note(f"经营者承诺「{p.text}」（{p.days}天），您在承诺期限内提出，应按承诺退货。")
        return
    if r.decided_by is None:
        r.decided_by = "window"
        r.eligible = False
        r.cite("window")


def _condition(f: Facts, r: SevenDay) -> bool:
    """七日办法第八、九条; returns True when the condition is unknown but would decide the case."""
    condition = f.condition
    per_se = "electronics" in f.category or "sealed" in f.category
    if condition == "opened" and "sealed" in f.category and f.flag("seal_broken"):
        code = "NOT_INTACT_USED"
        r.note("食品、化妆品、医疗器械等商品必要的一次性密封包装被损坏的，视为商品不完好。")
    else:
        code = _NOT_INTACT.get(condition or "")
    if code is None:
        if condition is None:
            if r.decided_by is None:
                r.note("能否退货还取决于商品是否完好（商品本身、配件、商标标识齐全）。")
                r.pending_condition = True
                return True
            return False
        r.intact = True
        if condition == "opened":
            r.code("OPENED_FOR_INSPECTION_OK")
            r.note("为查验而拆开包装或合理调试不影响商品完好，商家不能以“已拆封”为由拒绝。")
            if "sealed" in f.category:
                r.note("食品、化妆品等只有必要的一次性密封包装被拆破才视为不完好；只打开外包装查看的不受影响。")
        elif not f.return_received:
            r.code("CONDITION_INTACT")
        return False
    r.intact = False
    emit = (
        r.decided_by is None
        or code == "NOT_INTACT_DAMAGED"
        or (f.return_requested and (r.decided_by not in ("exclusion", "merchant_exclusion") or per_se))
    )
    if emit:
        r.code(code)
        if code == "NOT_INTACT_DAMAGED":
            r.note("商品在您一方已受损，不再完好，不能无理由退货。")
        elif "electronics" in f.category:
            r.note("电子电器激活或使用后会留下激活、使用数据等痕迹，视为商品不完好。")
        else:
            r.note("商品已超出查验需要而使用，价值贬损较大的，视为不完好。")
        if r.decided_by == "merchant_exclusion":
            r.cite("not_intact_per_se")
    if r.decided_by is None:
        r.decided_by = "condition"
        r.eligible = False
        r.cite("condition_not_intact")
    return False


def base_basis(f: Facts, r: SevenDay) -> list[tuple[str, int]]:
    """Citations for an available no-reason return when no money issue is in dispute.

    A specific issue (promise, unconfirmed exclusion, opened packaging) is cited on its own. Else
    消法第二十五条 with what is in question: the window when the timing is (a notice on the last day
    or the day before, or a seller saying it is too late), the exclusion list when the goods are
    often mistaken for excluded ones or the seller claimed an exclusion, the scope article when
    the goods came through a food-delivery app; the window when nothing else is.
    """
    from .common import blocks

    specific = [ref for ref in r.basis if ref not in blocks("business_seller_secondhand", "window")]
    if specific:
        return list(r.basis)
    if "OPENED_FOR_INSPECTION_OK" in r.codes:
        return blocks("opened_for_inspection")
    names = []
    if r.timing_matters:
        names.append("window")
    if "books" in f.category or "DIGITAL_NOT_OPENED" in r.codes or f.flag("seller_claimed_exclusion"):
        names.append("exclusion_list")
    if f.channel == "food_delivery":
        names.append("channel_scope")
    if not names:
        names.append("window")
    out = blocks("no_reason_statute") + blocks(*names)
    out = list(dict.fromkeys(out))
    return out + [ref for ref in r.basis if ref not in out]
