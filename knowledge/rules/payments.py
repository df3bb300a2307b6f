"""Money held or taken outside the sale itself: deposits, unauthorised payments, auto-renewal.

- Deposits (电子商务法第二十一条, 条例第二十条): the business must state how a deposit comes back, put
  no unreasonable condition on it, and refund promptly once the conditions are met; only a deduction
  the deposit agreement provides for may be kept. Breaches are punishable (电子商务法第七十八条,
  条例第五十条), so a late or conditioned refund can be reported.
- Unauthorised payments (电子商务法第五十七条): the payment provider bears them unless it proves the
  user's fault, and in any case the part lost after the user's notice if it did not act at once.
  The corpus has no market-regulation penalty for this duty, so there is nothing to report.
- Auto-renewal (条例第十条第二款, 网络交易办法第十八条): a prominent notice before the service and before
  each renewal, the consumer's own choice, cancellation at any time; a renewal charged without them
  or after cancelling is refunded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from .common import Finding, cn_date, yuan
from .complaint import add_working_days
from .facts import Facts

PAYMENT_PROVIDER = "电子支付服务提供者"


@dataclass
class Payments(Finding):
    active: bool = False
    refund_amount: float | None = None
    other_liable_parties: list[str] = field(default_factory=list)


def assess(f: Facts) -> Payments:
    p = Payments()
    if f.money("deposit_yuan") is not None:
        _deposit(f, p)
    if f.flag("unauthorized_payment"):
        _unauthorized(f, p)
    if f.flag("auto_renewal") and (f.flag("renewal_notice_missing") or f.flag("cancelled_before_charge")):
        _renewal(f, p)
    return p


def _deposit(f: Facts, p: Payments) -> None:
    p.active = True
    deposit = f.money("deposit_yuan") or 0.0
    deduction = f.money("deposit_deduction_yuan") or 0.0
    p.refund_amount = max(0.0, deposit - deduction)
    p.cite("deposit")
    p.remedy("refund_deposit")
    if deduction:
        p.code("DEPOSIT_AGREED_DEDUCTION")
        p.note(f"押金协议约定的扣除可以扣：{yuan(deposit)}−{yuan(deduction)}={yuan(p.refund_amount)}，其余应当退还。")
    if f.flag("deposit_unreasonable_condition"):
        p.code("DEPOSIT_UNREASONABLE_CONDITION")
        p.violation("deposit")
        p.note("经营者不得对退还押金设置不合理条件（如只退平台余额、要求再下单或另付费用）。")
        return
    asked = f.date("refund_request_date")
    if asked is None:
        p.note("符合押金退还条件的，经营者应当及时退还押金。")
        return
    p.code("DEPOSIT_REFUND_DUE")
    p.note(f"您{cn_date(asked)}已申请退还押金并符合退还条件，经营者应当及时退还{yuan(p.refund_amount)}。")
    due = _stated_due(f, asked)
    now = f.date("complaint_date") or f.today
    if due is not None and now > due and not f.flag("refund_paid"):
        p.code("DEPOSIT_REFUND_LATE")
        p.violation("deposit")
        p.note(f"按经营者自己公示的退还时限，最迟{cn_date(due)}应退回，至今未退，属于未及时退还押金，可以举报。")


def _stated_due(f: Facts, asked: date) -> date | None:
    """The last day of the refund period the business itself published, if the facts give one."""
    working = f.number("deposit_refund_working_days")
    if working:
        return add_working_days(asked, working)
    days = f.number("deposit_refund_days")
    return asked + timedelta(days=days) if days else None


def _unauthorized(f: Facts, p: Payments) -> None:
    p.active = True
    p.cite("unauthorized_payment")
    p.remedy("claim_payment_provider")
    p.other_liable_parties.append(PAYMENT_PROVIDER)
    taken = f.money("loss_yuan")
    after_notice = f.money("loss_after_notice_yuan")
    if f.flag("payment_user_at_fault"):
        p.code("UNAUTHORIZED_PAYMENT_USER_FAULT")
        p.note("支付机构能证明未经授权的支付是因您自己的过错（如把验证码告诉他人）造成的，这部分损失由您承担。")
        if after_notice:
            p.code("PAYMENT_PROVIDER_ENLARGED_LOSS")
            p.refund_amount = after_notice
            p.note(f"但您通知后支付机构未立即采取措施，之后被扣走的{yuan(after_notice)}由支付机构承担。")
        else:
            p.refund_amount = 0.0
        return
    p.code("UNAUTHORIZED_PAYMENT_PROVIDER_LIABLE")
    p.refund_amount = taken
    p.note("未经授权的支付造成的损失由电子支付服务提供者承担，除非它能证明是您的过错造成的"
           f"{'' if taken is None else '：应赔' + yuan(taken)}。")


def _renewal(f: Facts, p: Payments) -> None:
    p.active = True
    p.cite("auto_renewal_v2")
    p.remedy("cancel_auto_renewal", "refund")
    p.refund_amount = f.price
    p.violation("auto_renewal")
    if f.flag("cancelled_before_charge"):
        p.code("AUTO_RENEWAL_CHARGED_AFTER_CANCEL")
        p.note("您已关闭自动续费，之后的扣费没有依据，应当退还。")
    if f.flag("renewal_notice_missing"):
        p.code("AUTO_RENEWAL_NO_NOTICE")
        p.note("自动续费必须在接受服务前和续费日前以显著方式提醒、由您自主选择；没有提醒就扣费的，该次续费不能视为您同意，"
               "可以要求退还并随时取消。")
    if f.flag("renewal_default_ticked"):
        p.cite("default_ticked_term")
        p.note("默认勾选、字体不显著的「自动续费」条款没有以显著方式提请您注意，对您不发生效力。")
