"""The 12315 complaint clocks of 市场监督管理投诉举报处理办法 (总局令第121号, in force 2026-04-15).

- 第十五条: accept or reject within 7 working days of receiving the complaint.
- 第十六条第（四）项: not accepted more than 3 years after the consumer knew of the harm.
- 第二十三条第一款第（五）项: mediation ends without agreement 60 days after acceptance; appraisal
  time is not counted (第二十二条第三款).
- 第十三条 (with 第十四条): which county-level regulator handles a complaint; 第二十九、三十一条: which
  regulator handles a report (举报).

Counting follows the measures' own rule, 第四十五条: the starting day is not counted, and a period
whose last day is a 法定节假日 ends on the first day after it. The rest days are read as the weekly
rest days plus the official holidays, so a period ending on a Saturday, Sunday or holiday runs to
the next working day (an adjusted working day, 调休上班, is a working day). Working days are
Monday to Friday minus official holidays plus adjusted working days, from holidays.yaml.
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


def next_working_day_from(day: date) -> date:
    """`day` itself if it is a working day, else the first working day after it: where a period
    whose last day is a rest day or official holiday ends (投诉办法第四十五条)."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_years(day: date, years: int) -> date:
    """The corresponding date `years` later, which is the last day of a period counted in years.

    A date with no counterpart in the final year (2月29日 into a common year) ends the period on
    that month's last day, 2月28日; 2月28日 stays 2月28日 even when the final year is a leap year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _period_end(raw_end: date, what: str, c: ComplaintClocks) -> tuple[date, list[str]]:
    """Apply 第四十五条 to a period's nominal last day: the real last day, and notes on any move
    and on a year whose holidays are not loaded."""
    notes: list[str] = []
    end = next_working_day_from(raw_end)
    if end != raw_end:
        kind = "法定节假日" if raw_end in _calendar()[0] else "休息日"
        notes.append(
            f"{what}的最后一日{cn_date(raw_end)}是{kind}，顺延至其后的第一个工作日{cn_date(end)}"
            "（《市场监督管理投诉举报处理办法》第四十五条）。"
        )
    missing = sorted({d.year for d in (raw_end, end) if not calendar_covers(d)})
    if missing:
        c.calendar_complete = False
        years = "、".join(f"{y}年" for y in missing)
        notes.append(f"注意：{years}的法定节假日安排尚未载入，{what}只按周末顺延，未考虑节假日。")
    _cite_once(c, 45)
    return end, notes


def _cite_once(c: ComplaintClocks, article: int) -> None:
    if not any(x["article"] == article for x in c.citations):
        c.citations.append(_cite(article))


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
        c.citations.append(_cite(16))
        c.limitation_expires, extra_notes = _period_end(add_years(harm_known, LIMITATION_YEARS), "三年投诉期限", c)
        c.within_limitation = received <= c.limitation_expires
        verdict = "未超过" if c.within_limitation else "已超过"
        c.notes.append(
            f"您{cn_date(harm_known)}知道权益受损，三年投诉期限至{cn_date(c.limitation_expires)}，"
            f"本次投诉{verdict}三年期限。"
        )
        c.notes.extend(extra_notes)
    if accepted is not None:
        c.accepted_late = accepted > due
        extra = max(int(appraisal_days), 0)
        c.citations.extend([_cite(23), _cite(25)])
        if extra:
            c.citations.append(_cite(22))
        c.mediation_ends, extra_notes = _period_end(
            accepted + timedelta(days=MEDIATION_DAYS + extra), "六十日调解期限", c
        )
        text = f"投诉于{cn_date(accepted)}受理；自受理之日起六十日内未能达成调解协议的，终止调解"
        if extra:
            text += f"（鉴定、检测用时{extra}日不计入）"
        c.notes.append(text + f"，即最迟{cn_date(c.mediation_ends)}。调解不成的，可以通过诉讼、仲裁等途径解决。")
        c.notes.extend(extra_notes)
    return c


_CITE = "《市场监督管理投诉举报处理办法》"


def _kind(channel: str | None) -> str:
    """The seller's position for 第十三条 and 第三十一条; an unknown channel is read as a platform seller."""
    if channel in ("platform_self_operated", "seller_own_site", "offline_store"):
        return channel
    return "platform_seller"


def complaint_forum(
    channel: str | None = "marketplace",
    *,
    seller_name: str | None = None,
    seller_address: str | None = None,
    seller_reachable: bool | None = None,
    platform_name: str | None = None,
) -> tuple[str, tuple[int, ...]]:
    """Which county-level regulator handles the complaint, as a Chinese sentence, and the articles
    of the measures it rests on (第十三条 by the seller's position; 第十四条 when two may handle it)."""
    seller = f"商家（{seller_name}）" if seller_name else "商家"
    platform = f"平台经营者（{platform_name}）" if platform_name else "平台经营者"
    first = "两地的市场监督管理部门都有处理权限的，由先收到投诉的部门处理"
    kind = _kind(channel)
    if kind == "platform_self_operated":
        return (
            f"平台自营的商品由电子商务平台经营者自己销售，对{platform}的投诉，由其住所地县级市场监督管理部门处理"
            f"（{_CITE}第十三条第二款）。",
            (13,),
        )
    if kind == "seller_own_site":
        return (
            f"{seller}通过自建网站或者其他网络服务（如自有App、小程序）销售商品，对其投诉由{seller}住所地"
            f"县级市场监督管理部门处理（{_CITE}第十三条第二款）。",
            (13,),
        )
    if kind == "offline_store":
        return (
            f"投诉由被投诉人{seller}实际经营地或者住所地县级市场监督管理部门处理；{first}"
            f"（{_CITE}第十三条第一款、第十四条）。",
            (13, 14),
        )
    if seller_reachable is False:
        return (
            f"通过平台公示的地址无法联系到{seller}，投诉由{platform}住所地县级市场监督管理部门处理"
            f"（{_CITE}第十三条第三款）。",
            (13,),
        )
    if seller_address:
        return (
            f"对平台内经营者的投诉，由{seller}在平台公示的地址（{seller_address}）所在地县级市场监督管理部门"
            f"或者{platform}住所地县级市场监督管理部门处理；{first}（{_CITE}第十三条第三款、第十四条）。",
            (13, 14),
        )
    return (
        f"对平台内经营者的投诉，由{seller}在平台公示的地址所在地县级市场监督管理部门或者{platform}住所地"
        f"县级市场监督管理部门处理；商家未在平台依法公示地址，或者通过公示的地址无法取得联系的，由{platform}"
        f"住所地县级市场监督管理部门处理；{first}（{_CITE}第十三条第三款、第十四条）。",
        (13, 14),
    )


def complaint_jurisdiction(
    channel: str | None = "marketplace",
    *,
    seller_name: str | None = None,
    seller_address: str | None = None,
    seller_reachable: bool | None = None,
    platform_name: str | None = None,
) -> str:
    """Which county-level regulator handles the complaint (投诉办法第十三条), as a Chinese sentence."""
    return complaint_forum(
        channel,
        seller_name=seller_name,
        seller_address=seller_address,
        seller_reachable=seller_reachable,
        platform_name=platform_name,
    )[0]


def report_forum(
    channel: str | None = "marketplace",
    *,
    seller_name: str | None = None,
    platform_name: str | None = None,
) -> tuple[str, tuple[int, ...]]:
    """Which regulator handles a report (举报) about the seller, and the articles: a report has its
    own rules (第二十九、三十一条), which differ from a complaint's for sellers on a platform."""
    seller = f"商家（{seller_name}）" if seller_name else "商家"
    platform = f"平台经营者（{platform_name}）" if platform_name else "平台经营者"
    kind = _kind(channel)
    if kind == "platform_self_operated":
        return (
            f"对电子商务平台经营者的举报，由{platform}住所地县级以上市场监督管理部门处理（{_CITE}第三十一条第一款）。",
            (31,),
        )
    if kind == "seller_own_site":
        return (
            f"对通过自建网站、其他网络服务销售商品的电子商务经营者的举报，由{seller}住所地县级以上市场监督管理部门处理"
            f"（{_CITE}第三十一条第一款）。",
            (31,),
        )
    if kind == "offline_store":
        return (f"举报由被举报行为发生地的县级以上市场监督管理部门处理（{_CITE}第二十九条）。", (29,))
    return (
        f"对平台内经营者的举报，由{seller}实际经营地县级以上市场监督管理部门处理；{platform}住所地县级以上"
        f"市场监督管理部门先行收到举报的，也可以处理（{_CITE}第三十一条第二款）。",
        (31,),
    )
