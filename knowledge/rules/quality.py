"""Quality problems: 消法第二十三、二十四、四十条 and 产品质量法第四十、四十三条.

A quality return is a separate route from the no-reason return and is not defeated by use
(七日办法第三十五条). Within 7 days of receipt (counted like the no-reason window) the consumer may
return; after that, exchange or repair unless lawful-termination or 三包 conditions are met. The
seller pays the transport costs (消法第二十四条第二款).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from .common import Finding, blocks, cn_date
from .facts import Facts

DURABLE_BURDEN_MONTHS = 6


@dataclass
class Quality(Finding):
    active: bool = False
    route: str | None = None  # within_7 | after_7 | destroyed
    harm: bool = False
    return_shipping_seller: bool = False
    quality_basis: list[tuple[str, int]] | None = None
    harm_basis: list[tuple[str, int]] | None = None


def assess(f: Facts) -> Quality:
    """The consumer's remedies for goods that do not meet quality requirements or the contract."""
    q = Quality()
    if f.flag("seller_knew_defect") and (f.flag("defect") or f.flag("reporter_only")):
        q.violation("known_defect")  # 消法第十九条: goods known to be defective kept on sale
    harm = f.flag("defect_caused_harm")
    if not (f.flag("defect") or harm or f.flag("nonconforming")):
        return q
    q.active = True
    q.code("NONCONFORMING_GOODS" if f.flag("nonconforming") and not f.flag("defect") else "QUALITY_DEFECT")
    if f.flag("nonconforming") and f.flag("defect"):
        q.code("NONCONFORMING_GOODS")
    signed = f.date("signed_date")
    if f.flag("goods_destroyed"):
        q.route = "destroyed"
        q.remedy("refund")
        q.note("商品本身已因缺陷损毁，无从更换或修理，可要求退还货款。")
    elif signed is not None and f.notice_date <= signed + timedelta(days=7):
        q.route = "within_7"
        q.code("QUALITY_RETURN_WITHIN_7_DAYS")
        q.remedy("quality_return", "exchange")
        q.note(f"质量问题在收货后七日内（{cn_date(signed + timedelta(days=7))}前）提出，可以直接要求退货，也可以要求更换。")
    else:
        q.route = "after_7"
        q.remedy("exchange", "repair")
        q.note("收货已超过七日：可以要求更换、修理；符合法定解除合同条件（或国家三包规定）的，可以退货。")
    if q.route != "destroyed":
        q.return_shipping_seller = True
        q.note("因质量问题退货、更换、修理的，运输等必要费用由经营者承担。")
        if f.return_requested:
            q.code("QUALITY_RETURN_SELLER_PAYS_SHIPPING")
    if harm:
        q.harm = True
        injured = f.flag("harm_personal_injury") or f.text("injury") in ("injury", "serious_or_death")
        q.code("DEFECT_CAUSED_PERSONAL_INJURY" if injured else "DEFECT_CAUSED_PROPERTY_DAMAGE")
        q.remedy("compensate_losses")
        q.note("商品缺陷造成人身或其他财产损害的，可以向销售者要求赔偿，也可以向生产者要求赔偿。")
    _durable_note(f, q, signed)
    q.quality_basis = {"within_7": blocks("quality_within_7"), "after_7": blocks("quality_after_7")}.get(
        q.route or "", []
    )
    q.harm_basis = blocks("harm") if harm else []
    if q.quality_basis and q.harm_basis:
        # Two claims at once: each is represented by its main article.
        q.basis = [q.quality_basis[0], q.harm_basis[0]]
    else:
        q.basis = list(q.quality_basis or q.harm_basis)
    return q


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, or that month's real last day when it is shorter
    (8月31日 + 6 months is 2月29日 in a leap year, 2月28日 otherwise)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _durable_note(f: Facts, q: Quality, signed: date | None) -> None:
    if "durable" not in f.category or signed is None:
        return
    limit = add_months(signed, DURABLE_BURDEN_MONTHS)
    if f.notice_date <= limit:
        q.note(f"该商品属于耐用商品，自接受商品之日起六个月内（至{cn_date(limit)}）发现瑕疵发生争议的，由经营者承担举证责任。")
