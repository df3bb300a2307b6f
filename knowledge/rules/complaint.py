"""The 12315 complaint clocks of 市场监督管理投诉举报处理办法 (总局令第121号, in force 2026-04-15).

- 第十五条: accept or reject within 7 working days of receiving the complaint.
- 第十六条第（四）项: not accepted more than 3 years after the consumer knew of the harm.
- 第二十三条第一款第（五）项: mediation ends without agreement 60 days after acceptance; appraisal
  time is not counted (第二十二条第三款).
- 第十三条: which county-level regulator handles a complaint against an online seller.

Periods start the day after the triggering day (民法典第二百零一条). Working days are Monday to
Friday minus official holidays plus adjusted working days, from holidays.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from knowledge.corpus import resolve

from .common import cn_date, load_yaml

LAW = "市场监督管理投诉举报处理办法"
ACCEPT_WORKING_DAYS = 7
LIMITATION_YEARS = 3
MEDIATION_DAYS = 60


@lru_cache(maxsize=1)
def _calendar() -> tuple[frozenset[date], frozenset[date], frozenset[int]]:
    holidays: set[date] = set()
    workdays: set[date] = set()
    years = load_yaml("holidays.yaml")["years"]
    for spec in years.values():
        for start, end in spec.get("holidays", []):
            day = start
            while day <= end:
                holidays.add(day)
                day += timedelta(days=1)
        workdays.update(spec.get("workdays", []))
    return frozenset(holidays), frozenset(workdays), frozenset(int(y) for y in years)


def calendar_covers(day: date) -> bool:
    """Whether the holiday data knows the official arrangements for this date's year."""
    return day.year in _calendar()[2]


def is_working_day(day: date) -> bool:
    """Mon–Fri unless an official holiday, plus weekend days declared working days (调休)."""
    holidays, workdays, _ = _calendar()
    if day in workdays:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (the start day itself is not counted)."""
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def add_years(day: date, years: int) -> date:
    """Same calendar date `years` later; 2月29日 falls back to 2月28日."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _cite(article: int) -> dict[str, Any]:
    art = resolve(LAW, article)
    return {"law": art.law, "article": art.article, "citation": art.citation, "text": art.text}


@dataclass
class ComplaintClocks:
    """Deadlines that apply to one complaint, with Chinese notes and verbatim citations."""

    received: date
    accept_decision_due: date
    accepted: date | None = None
    accepted_late: bool | None = None
    mediation_ends: date | None = None
    harm_known: date | None = None
    limitation_expires: date | None = None
    within_limitation: bool | None = None
    accept_decision_overdue: bool | None = None
    calendar_complete: bool = True
    notes: list[str] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def iso(d: date | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "received": iso(self.received),
            "accept_decision_due": iso(self.accept_decision_due),
            "accepted": iso(self.accepted),
            "accepted_late": self.accepted_late,
            "accept_decision_overdue": self.accept_decision_overdue,
            "mediation_ends": iso(self.mediation_ends),
            "harm_known": iso(self.harm_known),
            "limitation_expires": iso(self.limitation_expires),
            "within_limitation": self.within_limitation,
            "calendar_complete": self.calendar_complete,
            "notes": list(self.notes),
            "citations": list(self.citations),
        }


def complaint_clocks(
    received: date,
    accepted: date | None = None,
    *,
    harm_known: date | None = None,
    appraisal_days: int = 0,
    today: date | None = None,
) -> ComplaintClocks:
    """Compute the 投诉办法 deadlines for a complaint received on `received`."""
    due = add_working_days(received, ACCEPT_WORKING_DAYS)
    c = ComplaintClocks(received=received, accept_decision_due=due, accepted=accepted, harm_known=harm_known)
    c.calendar_complete = calendar_covers(received) and calendar_covers(due)
    c.notes.append(
        f"市场监管部门{cn_date(received)}收到投诉，应在七个工作日内（{cn_date(due)}前）作出受理或者不予受理的决定。"
    )
    if not c.calendar_complete:
        c.notes.append("注意：该期间超出了已载入的法定节假日安排，工作日仅按周一至周五计算，未扣除节假日。")
    c.citations.append(_cite(15))
    if today is not None and accepted is None:
        c.accept_decision_overdue = today > due
        if c.accept_decision_overdue:
            c.notes.append(f"截至{cn_date(today)}仍未收到受理决定，已超过七个工作日，可以向其上级部门反映或拨打12315查询。")
    if harm_known is not None:
        c.limitation_expires = add_years(harm_known, LIMITATION_YEARS)
        c.within_limitation = received <= c.limitation_expires
        verdict = "未超过" if c.within_limitation else "已超过"
        c.notes.append(
            f"您{cn_date(harm_known)}知道权益受损，三年投诉期限至{cn_date(c.limitation_expires)}，"
            f"本次投诉{verdict}三年期限。"
        )
        c.citations.append(_cite(16))
    if accepted is not None:
        c.accepted_late = accepted > due
        extra = max(int(appraisal_days), 0)
        c.mediation_ends = accepted + timedelta(days=MEDIATION_DAYS + extra)
        text = f"投诉于{cn_date(accepted)}受理；自受理之日起六十日内未能达成调解协议的，终止调解"
        if extra:
            text += f"（鉴定、检测用时{extra}日不计入）"
        c.notes.append(text + f"，即最迟{cn_date(c.mediation_ends)}。调解不成的，可以通过诉讼、仲裁等途径解决。")
        c.citations.extend([_cite(23), _cite(25)])
        if extra:
            c.citations.append(_cite(22))
    return c


def complaint_jurisdiction(
    channel: str = "marketplace",
    *,
    seller_name: str | None = None,
    seller_address: str | None = None,
    seller_reachable: bool | None = None,
    platform_name: str | None = None,
) -> str:
    """Which county-level regulator handles the complaint (投诉办法第十三条), as a Chinese sentence."""
    seller = f"商家（{seller_name}）" if seller_name else "商家"
    platform = f"平台经营者（{platform_name}）" if platform_name else "平台经营者"
    if channel in ("seller_own_site", "platform_self_operated"):
        who = platform if channel == "platform_self_operated" else seller
        return f"对自营或自建网站的电子商务经营者的投诉，由{who}住所地的县级市场监督管理部门处理。"
    if channel == "offline_store":
        return f"由{seller}实际经营地或者住所地的县级市场监督管理部门处理。"
    if not seller_address or seller_reachable is False:
        reason = "商家未在平台公示地址" if not seller_address else "通过平台公示的地址无法联系到商家"
        return f"{reason}，投诉由{platform}住所地的县级市场监督管理部门处理。"
    return (
        f"投诉由{seller}在平台公示的地址（{seller_address}）所在地的县级市场监督管理部门处理，"
        f"也可以由{platform}住所地的县级市场监督管理部门处理。"
    )
