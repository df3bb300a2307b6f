"""Platform liability (a)–(e), live rooms, delivery risk, and the quality route."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.rules import decide
from knowledge.rules.quality import add_months

from .conftest import TODAY, make_facts

DEFECT_LATE = {
    "defect": True,
    "condition": "used",
    "return_request_date": None,
    "complaint_date": "2026-04-10",
}


def run(**kw):
    return decide(make_facts(**kw), today=TODAY)


# --- platform liability --------------------------------------------------------------------------
def test_seller_info_given_clears_platform():
    d = run(**DEFECT_LATE)
    assert d.platform_liable is False
    assert d.platform_liability_basis == []


def test_a_platform_cannot_identify_seller():
    d = run(**DEFECT_LATE, platform_provided_seller_info=False)
    assert d.platform_liable is True
    assert "PLATFORM_CANNOT_PROVIDE_SELLER_INFO" in d.reason_codes
    assert d.platform_liability_basis == [("消费者权益保护法", 44)]
    assert "claim_against_platform" in d.suggested_remedies


def test_a_live_platform_cannot_identify_room():
    d = run(**DEFECT_LATE, channel="live_stream", platform_provided_seller_info=False)
    assert d.platform_liable is True
    assert "LIVESTREAM_PLATFORM_CANNOT_PROVIDE_INFO" in d.reason_codes
    assert ("网络消费纠纷司法解释（一）", 14) in d.platform_liability_basis


def test_a_food_platform_cannot_identify_seller():
    d = run(**DEFECT_LATE, food=True, food_safety_violation=True, platform_provided_seller_info=False)
    assert ("食品安全法", 131) in d.platform_liability_basis


def test_b_platform_promise_when_seller_gone():
    d = run(**DEFECT_LATE, seller_reachable=False, platform_promise="商家联系不上时平台先行赔付")
    assert d.platform_liable is True
    assert {"PLATFORM_PROMISE", "PLATFORM_PROVIDED_SELLER_INFO"} <= set(d.reason_codes)
    assert set(d.suggested_remedies) == {"honor_promise", "claim_against_platform", "refund"}
    assert set(d.legal_basis) == {("消费者权益保护法", 44), ("消费者权益保护法实施条例", 12)}


def test_b_promise_conditioned_on_unreachable_seller_not_triggered():
    d = run(**DEFECT_LATE, seller_reachable=True, platform_promise="商家失联的，由平台先行赔付")
    assert d.platform_liable is False


def test_c_platform_knew_joint_liability():
    d = run(**DEFECT_LATE, defect_caused_harm=True, platform_knew=True)
    assert d.platform_liable is True
    assert set(d.platform_liability_basis) == {("电子商务法", 38), ("消费者权益保护法", 44)}
    assert {"joint_liability_claim_platform", "report_to_regulator", "compensate_losses"} <= set(
        d.suggested_remedies
    )


def test_d_self_operated():
    d = run(**DEFECT_LATE, platform_self_operated=True)
    assert d.platform_liable is True
    assert "PLATFORM_SELF_OPERATED" in d.reason_codes
    assert ("电子商务法", 37) in d.platform_liability_basis


def test_d_misleading_self_operated_label():
    d = run(**DEFECT_LATE, misleading_self_operated_label=True)
    assert d.platform_liable is True
    assert "PLATFORM_MISLEADING_SELF_OPERATED_LABEL" in d.reason_codes
    assert d.platform_liability_basis == [("网络消费纠纷司法解释（一）", 4)]


@pytest.mark.parametrize(
    "story",
    [
        "快递盒上印着平台的标志，用了半个月出现故障。",
        "包装盒是平台的logo，也是平台物流送的货，用了半个月出现故障。",
        "页面全是平台的标志，箱子上有平台的商标，用了半个月出现故障。",
    ],
)
def test_d_plain_platform_logo_box_or_delivery_is_not_a_self_operated_label(story):
    """网消解释第四条第二款 needs a label that makes consumers believe the platform sells itself."""
    d = run(**DEFECT_LATE, narrative=story)
    assert "PLATFORM_MISLEADING_SELF_OPERATED_LABEL" not in d.reason_codes
    assert d.platform_liable is False


@pytest.mark.parametrize(
    "story",
    [
        "商品页标着自营，其实是第三方商家，用了半个月出现故障。",
        "店铺名后面挂着自营两个字，我以为是平台自营的，后来才知道是入驻商家。",
        "标着自营不是自营，用了半个月出现故障。",
    ],
)
def test_d_misleading_self_operated_label_in_the_story(story):
    d = run(**DEFECT_LATE, narrative=story)
    assert "PLATFORM_MISLEADING_SELF_OPERATED_LABEL" in d.reason_codes
    assert d.platform_liability_basis == [("网络消费纠纷司法解释（一）", 4)]


def test_e_catering_platform_without_licence_check():
    d = run(
        channel="food_delivery",
        category="外卖",
        food=True,
        food_safety_violation=True,
        food_platform_no_license_check=True,
        signed_date=None,
    )
    assert d.platform_liable is True
    assert "FOOD_PLATFORM_NO_LICENSE_CHECK" in d.reason_codes
    assert ("网络消费纠纷司法解释（一）", 18) in d.platform_liability_basis
    assert d.punitive.against == ["生产者"]  # the restaurant makes the food


def test_platform_not_liable_when_consumer_has_no_claim():
    d = run(perishable=True, platform_self_operated=True)
    assert d.platform_liable is False


def test_off_platform_payment_stays_with_seller():
    d = run(**DEFECT_LATE, off_platform_payment=True)
    assert "OFF_PLATFORM_PAYMENT_SELLER_LIABLE" in d.reason_codes
    assert d.platform_liable is False


def test_live_room_marked_seller():
    d = run(defect=True, condition="used", channel="live_stream", livestream_marked_actual_seller=True)
    assert "LIVESTREAM_ROOM_MARKED_SELLER" in d.reason_codes
    assert d.other_liable_parties == []
    assert "pursue_seller_directly" in d.suggested_remedies
    assert ("网络消费纠纷司法解释（一）", 12) in d.legal_basis


def test_live_room_not_marked_is_liable_as_seller():
    d = run(defect=True, condition="used", channel="live_stream", livestream_marked_actual_seller=False)
    assert "LIVESTREAM_ROOM_LIABLE_AS_SELLER" in d.reason_codes
    assert d.other_liable_parties == ["直播间运营者"]
    assert d.platform_liable is False


# --- quality route ------------------------------------------------------------------------------
def test_quality_within_7_days_return_even_if_used():
    d = run(defect=True, condition="used")
    assert d.seven_day_return_eligible is False
    assert {"QUALITY_DEFECT", "QUALITY_RETURN_WITHIN_7_DAYS", "QUALITY_RETURN_SELLER_PAYS_SHIPPING"} <= set(
        d.reason_codes
    )
    assert d.return_shipping_payer == "seller"
    assert {"quality_return", "exchange"} <= set(d.suggested_remedies)
    assert ("消费者权益保护法", 24) in d.legal_basis


def test_quality_day_8_exchange_or_repair():
    d = run(defect=True, condition="used", return_request_date="2026-03-11", complaint_date="2026-03-11")
    assert "QUALITY_RETURN_WITHIN_7_DAYS" not in d.reason_codes
    assert {"exchange", "repair", "platform_mediation"} <= set(d.suggested_remedies)
    assert set(d.legal_basis) == {("消费者权益保护法", 24), ("产品质量法", 40)}


def test_quality_route_is_not_no_reason_route():
    d = run(defect=True)  # intact, within the window
    assert d.seven_day_return_eligible is True  # computed anyway
    assert d.return_shipping_payer == "seller"
    assert "seven_day_no_reason_return" not in d.suggested_remedies


def test_defect_destroyed_goods_refund_and_losses():
    d = run(**DEFECT_LATE, defect_caused_harm=True, goods_destroyed=True, price_yuan=90)
    assert d.return_shipping_payer is None
    assert d.refund_amount_yuan == 90
    assert {"refund", "compensate_losses"} <= set(d.suggested_remedies)
    assert set(d.legal_basis) == {("消费者权益保护法", 40), ("产品质量法", 43)}


def test_personal_injury_code():
    d = run(**DEFECT_LATE, defect_caused_harm=True, harm_personal_injury=True)
    assert "DEFECT_CAUSED_PERSONAL_INJURY" in d.reason_codes


@pytest.mark.parametrize(
    ("signed", "notice", "limit"),
    [
        ("2023-08-31", "2024-02-29", "2024年2月29日"),  # leap year: February has 29 days
        ("2025-08-31", "2026-02-28", "2026年2月28日"),
        ("2025-08-30", "2026-02-28", "2026年2月28日"),
        ("2025-04-30", "2025-10-30", "2025年10月30日"),
    ],
)
def test_durable_goods_six_months_end_on_the_months_real_last_day(signed, notice, limit):
    d = run(defect=True, condition="used", category="笔记本电脑", signed_date=signed, return_request_date=notice,
            complaint_date=notice)
    assert any("耐用商品" in n and f"至{limit}" in n for n in d.notes)


def test_add_months():
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert add_months(date(2025, 12, 31), 2) == date(2026, 2, 28)
    assert add_months(date(2025, 3, 15), 6) == date(2025, 9, 15)
    assert add_months(date(2025, 9, 30), 6) == date(2026, 3, 30)


def test_nonconforming_goods():
    d = run(nonconforming=True)
    assert "NONCONFORMING_GOODS" in d.reason_codes


# --- delivery ----------------------------------------------------------------------------------
def test_consumer_chosen_carrier_bears_transit_risk():
    d = run(consumer_chose_carrier=True, condition="damaged_by_consumer", return_request_date=None)
    assert set(d.reason_codes) == {"CONSUMER_CHOSEN_CARRIER", "NOT_INTACT_DAMAGED"}
    assert d.suggested_remedies == ["claim_against_carrier"]
    assert d.legal_basis == [("电子商务法", 20)]
    assert d.return_shipping_payer is None


def test_seller_carrier_transit_damage_is_seller_risk():
    d = run(transit_damage=True, defect=True)
    assert "SELLER_BEARS_TRANSIT_RISK" in d.reason_codes
    assert ("电子商务法", 20) in d.legal_basis
