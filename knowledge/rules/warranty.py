"""Warranty periods and the household-car 三包 rules.

General goods (条例第十八条): the agreed period runs from delivery (or installation), restarts from a
completed exchange, and days in repair are not counted. Household cars (家用汽车三包规定): 三包有效期
at least 2 years or 50,000 km from the invoice (or delivery) date (第十八条); within 7 days a major
part needing replacement gives exchange or return (第二十二条); within 60 days or 3,000 km, whichever
comes first, a major-part fault gives free replacement of the part (第二十条) and a critical failure
gives exchange or return (第二十三条); repeated repairs within the period give exchange or return
(第二十四条), for which the consumer pays a usage fee (第二十七条); a repair over 5 days gives a
substitute car or transport compensation from day 6 (第二十一条).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .common import Finding, add_months, cn_date, yuan
from .facts import Facts

VEHICLE_MIN_MONTHS, VEHICLE_MAX_KM = 24, 50_000
REPAIR_PERIOD_MONTHS, REPAIR_PERIOD_KM = 36, 60_000
SEVEN_DAYS, SIXTY_DAYS, EARLY_KM = 7, 60, 3_000
SUBSTITUTE_AFTER_DAYS = 5
MAJOR_PARTS = ("major_part",)
CRITICAL = ("critical_failure",)


@dataclass
class Warranty(Finding):
    active: bool = False
    vehicle: bool = False
    expiry: date | None = None
    covered: bool | None = None
    usage_compensation: float | None = None
    refund_amount: float | None = None
    return_available: bool = False


def is_vehicle(f: Facts) -> bool:
    return (bool(f.text("vehicle_fault")) or f.number("vehicle_km") is not None or "vehicle" in f.category
            or f.text("category") == "汽车")


def assess(f: Facts) -> Warranty:
    w = Warranty()
    if is_vehicle(f) and (f.date("warranty_start_date") or f.flag("defect")):
        _vehicle(f, w)
    elif f.date("warranty_start_date") and f.number("warranty_months"):
        _general(f, w)
    return w


def _found(f: Facts) -> date:
    return f.date("defect_found_date") or f.date("complaint_date") or f.today


def _general(f: Facts, w: Warranty) -> None:
    w.active = True
    start, months = f.date("warranty_start_date"), f.number("warranty_months") or 0
    exchanged = f.date("warranty_exchange_date")
    base = exchanged or start
    repair_days = f.number("warranty_repair_days") or 0
    w.expiry = add_months(base, months) + timedelta(days=repair_days)
    w.cite("warranty_general")
    if exchanged:
        w.code("WARRANTY_RESTARTED_AFTER_EXCHANGE")
        w.note(f"{cn_date(exchanged)}完成更换，保修期自更换完成之日起重新计算。")
    if repair_days:
        w.code("WARRANTY_REPAIR_TIME_EXCLUDED")
        w.note(f"维修占用的{repair_days}天不计入保修期。")
    found = _found(f)
    w.covered = found <= w.expiry
    if w.covered:
        w.code("WARRANTY_COVERED")
        w.remedy("repair", "exchange")
        w.note(f"保修期到{cn_date(w.expiry)}，{cn_date(found)}出现的故障在保修期内，经营者应当履行修理、更换等义务。")
    else:
        w.code("WARRANTY_EXPIRED")
        w.note(f"保修期已于{cn_date(w.expiry)}届满，{cn_date(found)}出现的故障不在约定保修期内。")


def _vehicle(f: Facts, w: Warranty) -> None:
    w.active = w.vehicle = True
    start = f.date("warranty_start_date") or f.date("signed_date") or f.date("order_date")
    months = max(VEHICLE_MIN_MONTHS, f.number("warranty_months") or 0)
    found, km = _found(f), f.number("vehicle_km")
    fault = f.text("vehicle_fault") or "other"
    w.cite("vehicle_warranty_period")
    if start is None:
        w.note("三包有效期自购车发票开具之日（与交付日不一致的，自交付之日）起计算；请提供该日期。")
        return
    w.expiry = add_months(start, months)
    w.covered = found <= w.expiry and (km is None or km <= VEHICLE_MAX_KM)
    if not w.covered:
        w.code("WARRANTY_EXPIRED")
        w.note(f"三包有效期（{months}个月或5万公里，以先到者为准）已届满，只能按包修期或约定处理。")
        return
    w.code("WARRANTY_COVERED")
    w.note(f"三包有效期自{cn_date(start)}起算，到{cn_date(w.expiry)}（或行驶5万公里）为止；故障出现在有效期内。")
    days = (found - start).days
    early = days <= SIXTY_DAYS and (km is None or km <= EARLY_KM)
    price = f.price
    if fault in MAJOR_PARTS and days <= SEVEN_DAYS:
        _free_return(f, w, "VEHICLE_MAJOR_PART_7D_RETURN", "vehicle_major_part_7d",
                     "起算之日起7日内发动机、变速器、动力蓄电池或驱动电机（或其主要零部件）需要更换的，可以选择换车或退车，"
                     "销售者应当免费更换或退货。")
    elif fault in CRITICAL and early:
        _free_return(f, w, "VEHICLE_CRITICAL_FAILURE_60D_RETURN", "vehicle_critical_60d",
                     "60日或3000公里内出现转向、制动系统失效、车身开裂、燃油泄漏或动力蓄电池起火的，可以选择免费换车或退车。")
    elif _repeated(f, fault):
        w.code("VEHICLE_REPEATED_REPAIR_RETURN")
        w.cite("vehicle_repeated_repair")
        w.remedy("exchange", "quality_return")
        w.return_available = True
        coefficient = f.money("vehicle_usage_coefficient")
        if price is not None and km is not None and coefficient is not None:
            n = coefficient / 100 if coefficient > 0.005 else coefficient
            w.usage_compensation = price * km / 1000 * n
            w.refund_amount = None if f.flag("wants_exchange") else price - w.usage_compensation
            w.code("VEHICLE_USAGE_COMPENSATION")
            w.cite("vehicle_usage_compensation")
            w.note(f"按第二十四条换车或退车的，应支付使用补偿费：{yuan(price)}×{km}/1000×{n:.2%}={yuan(w.usage_compensation)}。")
        else:
            w.note("按第二十四条换车或退车的，应按车价×行驶里程/1000×使用补偿系数支付使用补偿费（系数见三包凭证）。")
    else:
        if fault in MAJOR_PARTS and early:
            w.code("VEHICLE_MAJOR_PART_60D_FREE_REPLACEMENT")
            w.cite("vehicle_major_part_60d")
            w.note("60日或3000公里内发动机、变速器、动力蓄电池或驱动电机的主要零部件出现质量问题，可以凭三包凭证选择免费更换总成。")
        w.code("VEHICLE_RETURN_CONDITIONS_NOT_MET")
        w.cite({"major_part": "vehicle_major_part_7d", "critical_failure": "vehicle_critical_60d"}.get(
            fault, "vehicle_repeated_repair"))
        w.remedy("repair")
        w.note("目前还不符合换车或退车的条件（起算7日内需换主要总成、60日内严重失效或第二十四条的多次修理情形），可以要求免费修理。")
    if _repair_days(f) > SUBSTITUTE_AFTER_DAYS:
        w.code("VEHICLE_REPAIR_OVER_5_DAYS_SUBSTITUTE")
        w.cite("vehicle_substitute")
        w.remedy("compensate_losses")
        w.note("单次修理时间（包括等待零部件）超过5日的，自第6日起修理者应提供备用车或支付合理的交通费用补偿。")
    if f.flag("seller_refused") and w.return_available:
        w.violation("vehicle_refusal")


def _free_return(f: Facts, w: Warranty, code: str, block: str, note: str) -> None:
    """第二十二、二十三条: exchange or return of the car, free of charge (no usage fee)."""
    w.code(code)
    w.cite(block)
    w.remedy("exchange", "quality_return")
    w.return_available = True
    w.usage_compensation = 0
    w.refund_amount = None if f.flag("wants_exchange") else f.price
    w.note(note)


def _repeated(f: Facts, fault: str) -> bool:
    """第二十四条第一款 in the facts we can hold: repairs counted, and total days in repair."""
    count = f.number("warranty_repair_count") or 0
    days = f.number("warranty_repair_days") or 0
    if fault == "serious_safety" and count >= 2:
        return True
    return count > 4 or days > 30


def _repair_days(f: Facts) -> int:
    """Days of the current single repair, as the repairer announced the wait (including for parts)."""
    return f.number("repair_wait_days") or 0
