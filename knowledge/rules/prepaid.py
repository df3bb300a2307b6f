"""Prepaid consumption (预付式消费): cards, course packages, memberships paid in advance.

Two layers. With only the general facts (the service stopped, sessions used of a total) the
statutes answer: the unused prepayment back with interest (消法第五十三条, 条例第二十二条). With the
payment date, the cause and the units, 预付式消费司法解释 decides more precisely:
- 第十四条: the principal back in full when asked within 7 days of paying (the day of payment not
  counted, as in the seven-day window), unless the consumer already had the same service;
- 第十三条: rescission for relocation, a transfer without consent, or unlimited use not provided;
- 第十五至二十二条: the refund is the prepayment minus what was used, valued at the paid price
  (discount or bonus ratio) when the business caused the refund and at the list price when the
  consumer did, never above the prepayment; unlimited cards by the share of the term left; interest
  at the one-year LPR (business cause) or the one-year deposit rate (consumer cause);
- 处罚办法第十条: refusing, or not refunding within 15 days of the request, is deemed deliberate delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .common import Finding, cn_date, yuan
from .facts import Facts

COOLING_OFF_DAYS = 7
DELAY_DAYS = 15


@dataclass
class Prepaid(Finding):
    active: bool = False
    refund_amount: float | None = None
    cooling_off_eligible: bool | None = None
    cooling_off_deadline: date | None = None
    interest_rate_basis: str | None = None


def is_prepaid(f: Facts) -> bool:
    """A prepayment dispute: the interpretation's facts, or a stopped/unprovided prepaid service."""
    if f.date("prepaid_paid_date") or f.number("prepaid_units_total") is not None:
        return True
    return f.flag("service_not_goods") and (f.flag("service_stopped") or f.flag("prepaid_not_provided")
                                            or f.flag("business_stopped_service"))


def assess(f: Facts) -> Prepaid:
    p = Prepaid()
    if not is_prepaid(f):
        return p
    p.active = True
    p.remedy("complaint_to_market_regulator")
    paid = f.date("prepaid_paid_date")
    if paid is None and f.number("prepaid_units_total") is None:
        _statutory(f, p)
        return p
    request = f.date("refund_request_date") or f.date("complaint_date") or f.today
    _no_refund_clause(f, p)
    if paid is not None:
        p.cooling_off_deadline = paid + timedelta(days=COOLING_OFF_DAYS)
        if _cooling_off(f, p, paid, request):
            _delay(f, p, request)
            return p
    grounds = _rescission(f, p)
    consumer_cause = f.text("prepaid_refund_cause") == "consumer" or (not grounds and not _stopped(f))
    if grounds or consumer_cause or _stopped(f):
        _refund(f, p, consumer_cause)
    _delay(f, p, request)
    if f.flag("closed_without_notice"):
        p.code("PREPAID_RELOCATION_NO_30_DAY_NOTICE")
        p.cite("prepaid_closure_notice")
        p.violation("closure_notice")
        p.note("经营者停业或者迁移服务场所，应当提前30日公告有效联系方式。")
    return p


def _no_refund_clause(f: Facts, p: Prepaid) -> None:
    """预付解释第九条第（一）项: a standard term excluding refunds is void, and a reportable unfair term."""
    if f.flag("prepaid_no_refund_clause"):
        p.code("PREPAID_NO_REFUND_CLAUSE_INVALID")
        p.cite("prepaid_no_refund_clause")
        p.violation("unfair_term")
        p.note("「概不退款」之类排除消费者解除合同、请求返还预付款权利的格式条款无效。")


def _stopped(f: Facts) -> bool:
    return f.flag("business_stopped_service") or f.flag("service_stopped") or f.flag("prepaid_not_provided")


def _cooling_off(f: Facts, p: Prepaid, paid: date, request: date) -> bool:
    """预付解释第十四条; True when the 7-day refund of the principal is the answer."""
    deadline = p.cooling_off_deadline
    if f.flag("prepaid_prior_same_service"):
        p.cooling_off_eligible = False
        p.code("PREPAID_COOLING_OFF_PRIOR_SERVICE")
        p.note("订立合同时已经获得过相同的商品或服务，不适用付款后七日内无理由返还预付款。")
        return False
    if request <= deadline:
        p.cooling_off_eligible = True
        p.code("PREPAID_COOLING_OFF_7D")
        p.cite("prepaid_cooling_off")
        p.remedy("prepaid_cooling_off_refund")
        p.refund_amount = f.price
        p.note(f"{cn_date(paid)}付款，付款后七日内（到{cn_date(deadline)}）请求返还的，应全额返还预付款本金"
               f"{'' if f.price is None else '：' + yuan(f.price)}，不得扣手续费。")
        return True
    p.cooling_off_eligible = False
    p.code("PREPAID_COOLING_OFF_EXPIRED")
    p.note(f"付款已超过七日（期限到{cn_date(deadline)}），不能再无理由全额退款，按解除合同、退还剩余预付款处理。")
    return False


def _rescission(f: Facts, p: Prepaid) -> list[str]:
    """预付解释第十三条: grounds on which the consumer may rescind."""
    grounds = []
    if _stopped(f):
        grounds.append("stopped")
        p.code("PREPAID_NOT_PROVIDED")
        p.note("经营者停止提供服务，不能按约定提供，您可以解除合同，要求退还剩余预付款并支付利息。")
    if f.flag("prepaid_relocated"):
        grounds.append("relocated")
        p.code("PREPAID_RESCISSION_RELOCATION")
        p.note("经营者变更经营场所给您接受服务造成明显不便的，可以解除合同。")
    if f.flag("prepaid_change_of_circumstances"):
        grounds.append("circumstances")
        p.code("PREPAID_CHANGE_OF_CIRCUMSTANCES")
        p.note("身体健康等发生订立合同时无法预见的重大变化，可以与经营者重新协商；协商不成可请求变更或解除合同。")
    if grounds:
        p.cite("prepaid_general", "prepaid_rescission")
        p.remedy("rescind_contract", "refund_prepaid_balance")
    return grounds


def _refund(f: Facts, p: Prepaid, consumer_cause: bool) -> None:
    """预付解释第十五至二十二条: the principal left and the interest basis."""
    price, total, used = f.price, f.number("prepaid_units_total"), f.number("prepaid_units_used")
    list_unit = f.money("prepaid_list_unit_price_yuan")
    p.cite("prepaid_general")
    p.remedy("refund_prepaid_balance")
    unlimited = f.flag("prepaid_unlimited")
    if unlimited and not consumer_cause:
        p.code("PREPAID_UNLIMITED_PRO_RATA")
        p.cite("prepaid_unlimited", "prepaid_refund")
        if price is not None and total and used is not None and 0 <= used <= total:
            p.refund_amount = price * (total - used) / total
            p.note(f"不限次数的卡按停止服务后剩余期限的比例退：{yuan(price)}×({total}−{used})/{total}={yuan(p.refund_amount)}。")
    elif price is not None and total and used is not None and 0 <= used:
        paid_unit = price / total
        if consumer_cause:
            unit = list_unit if list_unit is not None else paid_unit
            if list_unit is not None:
                p.code("PREPAID_LIST_PRICE_CONSUMER_CAUSE")
                p.cite("prepaid_consumer_cause_price")
            p.cite("prepaid_refund")
            p.refund_amount = max(0.0, price - used * unit)
            p.note(f"因您自身原因退款，已消费部分按打折前价格{yuan(unit)}计算（不超过预付款）："
                   f"{yuan(price)}−{used}×{yuan(unit)}={yuan(p.refund_amount)}。")
        else:
            bonus = list_unit is not None and list_unit <= 1 and total > price
            if bonus:
                p.code("PREPAID_BONUS_RATIO")
                p.note(f"赠送金额按实付比例计算：已消费{used}元按{yuan(price)}/{total}折算。")
            elif list_unit is not None and list_unit > paid_unit:
                p.code("PREPAID_DISCOUNT_PRICE_BUSINESS_CAUSE")
            if bonus or (list_unit is not None and list_unit > paid_unit):
                p.cite("prepaid_business_cause_price")
            p.cite("prepaid_refund")
            p.refund_amount = max(0.0, price - used * paid_unit)
            p.note(f"非因您的原因退款，已消费部分按实际支付的单价{yuan(paid_unit)}计算："
                   f"{yuan(price)}−{used}×{yuan(paid_unit)}={yuan(p.refund_amount)}。")
    else:
        p.cite("prepaid_refund")
        p.note("可要求退还剩余预付款（预付款扣减已消费部分），需提供总次数（或期限）和已消费次数以计算金额。")
    p.interest_rate_basis = "deposit_rate_1y" if consumer_cause else "lpr_1y"
    p.remedy("claim_interest")
    p.note("利息：因经营者原因退款的，按合同成立时一年期贷款市场报价利率计算；因您自身原因的，按一年期定期存款基准利率计算。"
           if not consumer_cause else "因您自身原因退款的，利息按合同成立时一年期定期存款基准利率计算。")


def _delay(f: Facts, p: Prepaid, request: date) -> None:
    """处罚办法第十条第二款: a refund owed (even if its amount is not known yet) and not paid
    within 15 days of the request."""
    asked = f.date("refund_request_date")
    grounded = p.cooling_off_eligible is True or bool({"PREPAID_NOT_PROVIDED", "PREPAID_RESCISSION_RELOCATION"}
                                                         & set(p.codes))
    owed = grounded and (p.refund_amount is None or p.refund_amount > 0)
    if asked is None or not owed or f.flag("refund_paid"):
        return
    now = f.date("complaint_date") or f.today
    days = (now - asked).days
    if days > DELAY_DAYS:
        p.code("PREPAID_REFUND_DELAY_OVER_15_DAYS")
        p.cite("prepaid_delay")
        p.violation("prepaid_delay")
        p.note(f"您{cn_date(asked)}要求退款，已过{days}天仍未退还，超过15日视为故意拖延，可以向市场监管部门举报。")


def _statutory(f: Facts, p: Prepaid) -> None:
    """消法第五十三条 and 条例第二十二条 when only the sessions are known."""
    total, used = f.number("prepaid_total_units"), f.number("prepaid_used_units")
    p.code("PREPAID_NOT_PROVIDED")
    p.cite("prepaid")
    p.remedy("refund_prepaid_balance")
    price = f.price
    if price is not None and total and used is not None and 0 <= used <= total:
        p.refund_amount = price * (total - used) / total
        p.note(f"未按约定提供服务，可要求退还预付款：{yuan(price)}÷{total}×{total - used}={yuan(p.refund_amount)}（另加利息）。")
    else:
        p.note("未按约定提供服务，可要求退还未消费部分的预付款并加算利息；需提供总次数和已消费次数以计算金额。")
