"""12315 complaint clocks (投诉办法第十五、十六、二十三、四十五条) and jurisdiction (第十三、十四、
二十九、三十一条)."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.corpus import resolve
from knowledge.rules import add_working_days, complaint_clocks, complaint_jurisdiction, is_working_day
from knowledge.rules.complaint import add_years, complaint_forum, next_working_day_from, report_forum


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
    inside = complaint_clocks(date(2026, 6, 15), harm_known=date(2023, 6, 15))  # Monday, no move
    outside = complaint_clocks(date(2026, 6, 16), harm_known=date(2023, 6, 15))
    assert inside.limitation_expires == date(2026, 6, 15)
    assert inside.within_limitation is True
    assert outside.within_limitation is False
    assert any(c["article"] == 16 for c in inside.citations)


def test_three_year_limit_ending_on_a_holiday_runs_to_the_next_working_day():
    # 2026-05-01 … 05-05 is 劳动节: the period ends on Wednesday 05-06 (投诉办法第四十五条)
    on_holiday = complaint_clocks(date(2026, 5, 6), harm_known=date(2023, 5, 1))
    assert on_holiday.limitation_expires == date(2026, 5, 6)
    assert on_holiday.within_limitation is True
    assert complaint_clocks(date(2026, 5, 7), harm_known=date(2023, 5, 1)).within_limitation is False
    assert any("顺延" in n and "2026年5月6日" in n for n in on_holiday.notes)
    assert "《市场监督管理投诉举报处理办法》第四十五条" in [c["citation"] for c in on_holiday.citations]


def test_counting_article_says_what_the_clocks_do():
    text = resolve("市场监督管理投诉举报处理办法", 45).text
    assert "开始的当日不计入" in text and "期间届满的最后一日是法定节假日" in text


def test_leap_day_limit():
    assert add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)  # no 2月29日 in 2027: the month's last day
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert add_years(date(2025, 2, 28), 3) == date(2028, 2, 28)  # not pushed to the leap day
    c = complaint_clocks(date(2026, 5, 1), harm_known=date(2024, 2, 29))
    assert c.limitation_expires == date(2027, 3, 1)  # 2027-02-28 is a Sunday
    assert c.calendar_complete is False  # 2027 holidays are not loaded; the notes say so
    assert any("2027年" in n and "未考虑节假日" in n for n in c.notes)


def test_mediation_ends_sixty_days_after_acceptance():
    c = complaint_clocks(date(2026, 5, 18), accepted=date(2026, 5, 22))
    assert c.mediation_ends == date(2026, 7, 21)
    assert c.accepted_late is False
    assert {23, 25} <= {x["article"] for x in c.citations}


@pytest.mark.parametrize(
    ("accepted", "ends"),
    [
        (date(2026, 8, 5), date(2026, 10, 8)),  # day 60 is 10-04, inside 国庆 10/1–10/7
        (date(2026, 5, 26), date(2026, 7, 27)),  # day 60 is Saturday 07-25
        (date(2026, 8, 11), date(2026, 10, 10)),  # day 60 is Saturday 10-10, an adjusted working day
    ],
)
def test_mediation_end_moves_past_rest_days_and_holidays(accepted, ends):
    c = complaint_clocks(accepted, accepted=accepted)
    assert c.mediation_ends == ends
    assert any(x["article"] == 45 for x in c.citations)


def test_next_working_day_from():
    assert next_working_day_from(date(2026, 10, 1)) == date(2026, 10, 8)
    assert next_working_day_from(date(2026, 10, 9)) == date(2026, 10, 9)


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


MEASURES = "市场监督管理投诉举报处理办法"


def _paragraph(article: int, n: int) -> str:
    return resolve(MEASURES, article).text.split("\n")[n - 1]


def test_jurisdiction_self_operated_is_the_platform_domicile_not_the_platform_seller_rule():
    s, articles = complaint_forum("platform_self_operated", seller_name="某自营店", platform_name="某平台")
    assert "平台经营者（某平台）" in s and "住所地县级市场监督管理部门" in s
    assert "平台内经营者" not in s and "公示" not in s
    assert "第十三条第二款" in s and articles == (13,)
    assert "电子商务平台经营者" in _paragraph(13, 2) and "住所地" in _paragraph(13, 2)


def test_jurisdiction_own_site_is_the_sellers_domicile():
    s, articles = complaint_forum("seller_own_site", seller_name="某品牌小程序", platform_name="某平台")
    assert "商家（某品牌小程序）住所地" in s and "平台经营者" not in s and "公示" not in s
    assert "第十三条第二款" in s and articles == (13,)
    assert "自建网站、其他网络服务" in _paragraph(13, 2)


def test_jurisdiction_offline_store_and_two_competent_regulators():
    s, articles = complaint_forum("offline_store", seller_name="某超市")
    assert "实际经营地或者住所地" in s and "平台" not in s
    assert "先收到投诉" in s and articles == (13, 14)
    assert "实际经营地或者住所地" in _paragraph(13, 1)
    assert "先收到投诉" in resolve(MEASURES, 14).text


@pytest.mark.parametrize("channel", ["marketplace", "live_stream", "secondhand_marketplace", "food_delivery", None])
def test_jurisdiction_platform_sellers(channel):
    s, articles = complaint_forum(channel, seller_address="浙江省杭州市某区", platform_name="某平台")
    assert "平台公示的地址（浙江省杭州市某区）" in s and "平台经营者（某平台）住所地" in s
    assert "第十三条第三款" in s and articles == (13, 14)
    assert "平台内经营者" in _paragraph(13, 3)


def test_jurisdiction_without_a_known_address_states_the_rule_not_a_fact():
    s = complaint_jurisdiction("marketplace", platform_name="某平台")
    assert not s.startswith("商家未在平台公示地址")
    assert "在平台公示的地址所在地" in s and "未在平台依法公示地址" in s


def test_report_jurisdiction_by_seller_position():
    seller, arts = report_forum("marketplace", seller_name="某店", platform_name="某平台")
    assert "商家（某店）实际经营地" in seller and "第三十一条第二款" in seller and arts == (31,)
    assert "实际经营地" in _paragraph(31, 2)
    own, _ = report_forum("platform_self_operated", platform_name="某平台")
    assert "平台经营者（某平台）住所地" in own and "第三十一条第一款" in own
    offline, arts = report_forum("offline_store")
    assert "被举报行为发生地" in offline and arts == (29,)
    assert "被举报行为发生地" in resolve(MEASURES, 29).text
