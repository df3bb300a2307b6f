"""12315 complaint clocks (投诉办法第十五、十六、二十三条) and jurisdiction (第十三条)."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.rules import add_working_days, complaint_clocks, complaint_jurisdiction, is_working_day


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 5, 18), date(2026, 5, 27)),  # Mon -> ordinary week and a half
        (date(2026, 4, 30), date(2026, 5, 13)),  # 劳动节 5/1–5/5 off, Sat 5/9 is a working day
        (date(2026, 9, 30), date(2026, 10, 15)),  # 国庆 10/1–10/7 off, Sat 10/10 is a working day
        (date(2025, 9, 26), date(2025, 10, 13)),  # Sun 9/28 and Sat 10/11 are working days
        (date(2026, 2, 13), date(2026, 3, 2)),  # 春节 2/15–2/23 off, Sat 2/14 and 2/28 working
    ],
)
def test_accept_within_seven_working_days(received, due):
    c = complaint_clocks(received)
    assert c.accept_decision_due == due
    assert c.calendar_complete is True
    assert c.citations[0]["citation"] == "《市场监督管理投诉举报处理办法》第十五条"


def test_working_day_calendar():
    assert is_working_day(date(2026, 2, 14))  # Saturday, 调休上班
    assert not is_working_day(date(2026, 10, 1))
    assert not is_working_day(date(2026, 5, 16))  # ordinary Saturday
    assert add_working_days(date(2026, 5, 15), 1) == date(2026, 5, 18)


def test_years_without_calendar_data_are_flagged():
    c = complaint_clocks(date(2030, 1, 2))
    assert c.calendar_complete is False
    assert any("未扣除节假日" in n for n in c.notes)


def test_three_year_limit():
    inside = complaint_clocks(date(2026, 5, 1), harm_known=date(2023, 5, 1))
    outside = complaint_clocks(date(2026, 5, 2), harm_known=date(2023, 5, 1))
    assert inside.limitation_expires == date(2026, 5, 1)
    assert inside.within_limitation is True
    assert outside.within_limitation is False
    assert any(c["article"] == 16 for c in inside.citations)


def test_leap_day_limit():
    assert complaint_clocks(date(2026, 5, 1), harm_known=date(2024, 2, 29)).limitation_expires == date(2027, 2, 28)


def test_mediation_ends_sixty_days_after_acceptance():
    c = complaint_clocks(date(2026, 5, 18), accepted=date(2026, 5, 22))
    assert c.mediation_ends == date(2026, 7, 21)
    assert c.accepted_late is False
    assert {23, 25} <= {x["article"] for x in c.citations}


def test_appraisal_time_not_counted():
    c = complaint_clocks(date(2026, 5, 18), accepted=date(2026, 5, 22), appraisal_days=10)
    assert c.mediation_ends == date(2026, 7, 31)
    assert any(x["article"] == 22 for x in c.citations)


def test_overdue_acceptance_decision():
    c = complaint_clocks(date(2026, 5, 18), today=date(2026, 6, 1))
    assert c.accept_decision_overdue is True
    assert complaint_clocks(date(2026, 5, 18), accepted=date(2026, 5, 29)).accepted_late is True


def test_to_dict_is_json_friendly():
    import json

    json.dumps(complaint_clocks(date(2026, 5, 18), accepted=date(2026, 5, 20)).to_dict(), ensure_ascii=False)


def test_jurisdiction_platform_seller_with_address():
    s = complaint_jurisdiction("marketplace", seller_address="浙江省杭州市某区", seller_reachable=True, platform_name="某平台")
    assert "浙江省杭州市某区" in s and "平台经营者" in s


def test_jurisdiction_unreachable_seller_goes_to_platform():
    s = complaint_jurisdiction("marketplace", seller_address="某地", seller_reachable=False, platform_name="某平台")
    assert s.startswith("通过平台公示的地址无法联系到商家")
    assert "平台经营者（某平台）住所地" in s


def test_jurisdiction_no_address():
    assert "平台经营者住所地" in complaint_jurisdiction("live_stream")


def test_jurisdiction_own_site_and_offline():
    assert "住所地" in complaint_jurisdiction("seller_own_site", seller_name="某网店")
    assert "实际经营地" in complaint_jurisdiction("offline_store")
