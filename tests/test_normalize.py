"""Messy conversation input: dates, amounts, order numbers, phones and platform nicknames."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from knowledge.normalize import (
    NormalizationError,
    mask_phone,
    normalize_amount,
    normalize_date,
    normalize_order_number,
    normalize_phone,
    normalize_platform,
)

TODAY = date(2026, 3, 4)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3月2号", date(2026, 3, 2)),
        ("3月2日", date(2026, 3, 2)),
        (" 3 月 2 号 ", date(2026, 3, 2)),
        ("三月二号", date(2026, 3, 2)),
        ("上周五", date(2026, 2, 27)),
        ("上星期天", date(2026, 3, 1)),
        ("这周一", date(2026, 3, 2)),
        ("周五", date(2026, 2, 27)),
        ("前天", date(2026, 3, 2)),
        ("大前天", date(2026, 3, 1)),
        ("昨天下午", date(2026, 3, 3)),
        ("昨天晚上8点", date(2026, 3, 3)),
        ("今天", date(2026, 3, 4)),
        ("3天前", date(2026, 3, 1)),
        ("三天前", date(2026, 3, 1)),
        ("2026年3月2日", date(2026, 3, 2)),
        ("2026-03-02", date(2026, 3, 2)),
        ("2026/3/2", date(2026, 3, 2)),
        ("2025.11.20", date(2025, 11, 20)),
        ("二〇二五年十一月二十日", date(2025, 11, 20)),
        ("20260301", date(2026, 3, 1)),
        ("3.2", date(2026, 3, 2)),
        ("11月20日", date(2025, 11, 20)),  # month-day in the future -> last year
        ("去年12月31号", date(2025, 12, 31)),
        ("2号", date(2026, 3, 2)),
        ("10号", date(2026, 2, 10)),  # this month's 10th is still ahead -> last month
        ("上个月5号", date(2026, 2, 5)),
    ],
)
def test_dates(text, expected):
    assert normalize_date(text, TODAY).value == expected


def test_inferred_year_is_flagged():
    assert normalize_date("3月2号", TODAY).inferred_year is True
    assert normalize_date("2026年3月2日", TODAY).inferred_year is False


@pytest.mark.parametrize("text", ["2026.11.20", "明天", "2027年1月1日", "下周一"])
def test_future_dates_rejected_unless_allowed(text):
    with pytest.raises(NormalizationError) as err:
        normalize_date(text, TODAY)
    assert "将来" in err.value.message
    assert normalize_date(text, TODAY, allow_future=True).value > TODAY


@pytest.mark.parametrize(("text", "fragment"), [("2月30日", "不存在"), ("2025年2月29日", "28天"), ("13月1日", "月份")])
def test_impossible_dates(text, fragment):
    with pytest.raises(NormalizationError) as err:
        normalize_date(text, TODAY)
    assert fragment in err.value.message


@pytest.mark.parametrize("text", ["", "很久以前", "abc", "3月"])
def test_unreadable_dates(text):
    with pytest.raises(NormalizationError) as err:
        normalize_date(text, TODAY)
    assert err.value.message  # Chinese message for the user


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三百五", "350"),
        ("¥1,299.00", "1299"),
        ("￥ 88", "88"),
        ("两千块", "2000"),
        ("1.2万", "12000"),
        ("99元", "99"),
        ("五十块钱", "50"),
        ("3块5", "3.5"),
        ("12块8毛", "12.8"),
        ("1299.5元", "1299.5"),
        ("人民币 200", "200"),
        ("一百零八", "108"),
        ("200块左右", "200"),
    ],
)
def test_amounts(text, expected):
    assert normalize_amount(text).value == Decimal(expected)


@pytest.mark.parametrize(("text", "fragment"), [("-5", "负数"), ("负100", "负数"), ("0", "大于0"), ("零元", "大于0"), ("一亿", "超过"), ("2000000", "超过"), ("好多钱", "没看懂"), ("", "金额")])
def test_bad_amounts(text, fragment):
    with pytest.raises(NormalizationError) as err:
        normalize_amount(text)
    assert fragment in err.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("订单号：1234-5678-9012", "123456789012"),
        ("2025 1122 3344", "202511223344"),
        ("E20251120ABC", "E20251120ABC"),
        ("order no: ab-12-cd-34", "ab12cd34"),
    ],
)
def test_order_numbers(text, expected):
    assert normalize_order_number(text).value == expected


@pytest.mark.parametrize("text", ["12345", "订单号：12345", "1" * 33, "1234567#", "订单号是一二三四五六", ""])
def test_bad_order_numbers(text):
    with pytest.raises(NormalizationError) as err:
        normalize_order_number(text)
    assert "订单号" in err.value.message


@pytest.mark.parametrize(
    "text", ["13800131234", "+86 138-0013-1234", "0086 13800131234", "86-138 0013 1234", "(+86)138 0013 1234"]
)
def test_phones(text):
    result = normalize_phone(text)
    assert result.value == "13800131234"
    assert result.masked == "138****1234"


@pytest.mark.parametrize("text", ["12800131234", "1380013123", "138001312345", "010-12345678", "手机号", ""])
def test_bad_phones(text):
    with pytest.raises(NormalizationError) as err:
        normalize_phone(text)
    assert "手机号" in err.value.message


def test_mask_phone():
    assert mask_phone("13912345678") == "139****5678"
    assert mask_phone("+86 139-1234-5678") == "139****5678"
    assert mask_phone("12345") == "*2345"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("狗东", "京东"),
        ("京东", "京东"),
        ("JD", "京东"),
        ("在jd上买的", "京东"),
        ("PDD", "拼多多"),
        ("拼夕夕", "拼多多"),
        ("拼多多", "拼多多"),
        ("某宝", "淘宝"),
        ("淘宝", "淘宝"),
        ("天猫超市", "天猫"),
        ("抖音", "抖音"),
        ("抖店", "抖音"),
        ("快手小店", "快手"),
        ("唯品会", "唯品会"),
        ("苏宁", "苏宁易购"),
        ("闲鱼", "闲鱼"),
        ("美团外卖", "美团"),
        ("饿了么", "饿了么"),
        ("小红书", "小红书"),
    ],
)
def test_platforms(text, name):
    assert normalize_platform(text).name == name


def test_platform_channel_and_self_operated():
    assert normalize_platform("闲鱼").channel == "secondhand_marketplace"
    assert normalize_platform("美团").channel == "food_delivery"
    assert normalize_platform("京东自营").self_operated is True


@pytest.mark.parametrize("text", ["", "一个小网站", "pdd123", "什么值得买"])
def test_unknown_platform_returns_none(text):
    assert normalize_platform(text) is None
