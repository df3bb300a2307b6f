"""Seven-day no-reason return: window, scope, exclusions, condition and seller promises."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.rules import decide

from .conftest import TODAY, make_facts


def run(**kw):
    return decide(make_facts(**kw), today=TODAY)


# --- window (七日办法第十条) ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("notice", "eligible", "code"),
    [
        ("2026-03-04", True, "WITHIN_WINDOW"),  # day 1
        ("2026-03-10", True, "WITHIN_WINDOW"),  # day 7: signed 3-03, last day 3-10
        ("2026-03-11", False, "OUTSIDE_WINDOW"),  # day 8
    ],
)
def test_window_day_7_vs_day_8(notice, eligible, code):
    d = run(return_request_date=notice, complaint_date=notice)
    assert d.seven_day_deadline == date(2026, 3, 10)
    assert d.seven_day_return_eligible is eligible
    assert code in d.reason_codes
    assert ("WITHIN_WINDOW" in d.reason_codes) is eligible


def test_order_date_does_not_matter():
    d = run(order_date="2026-01-01")
    assert d.seven_day_deadline == date(2026, 3, 10)
    assert d.seven_day_return_eligible is True


def test_notice_falls_back_to_complaint_date():
    assert run(return_request_date=None, complaint_date="2026-03-10").seven_day_return_eligible is True
    assert run(return_request_date=None, complaint_date="2026-03-11").seven_day_return_eligible is False


def test_notice_falls_back_to_today_when_nothing_else():
    d = decide(make_facts(return_request_date=None, complaint_date=None), today=date(2026, 3, 9))
    assert d.seven_day_return_eligible is True


def test_eligible_basis_and_shipping():
    d = run()
    assert d.return_shipping_payer == "consumer"
    assert {"WITHIN_WINDOW", "CONDITION_INTACT", "RETURN_SHIPPING_CONSUMER"} <= set(d.reason_codes)
    assert ("消费者权益保护法", 25) in d.legal_basis
    assert ("网络购买商品七日无理由退货暂行办法", 10) in d.legal_basis
    assert d.suggested_remedies == ["seven_day_no_reason_return"]


def test_books_are_not_excluded_and_cite_exclusion_list():
    d = run(product="散文集", category="图书")
    assert d.seven_day_return_eligible is True
    assert ("网络购买商品七日无理由退货暂行办法", 6) in d.legal_basis


# --- delivery: 驿站 without consent is not 签收 ----------------------------------------------------
def test_yizhan_without_consent_is_not_signed():
    d = run(signed_date=None, logistics_marked_signed_date="2026-03-03")
    assert d.seven_day_return_eligible is None
    assert d.seven_day_deadline is None
    assert {"NOT_YET_SIGNED", "DELIVERY_TO_THIRD_PARTY_WITHOUT_CONSENT", "SELLER_BEARS_TRANSIT_RISK"} <= set(
        d.reason_codes
    )
    assert ("电子商务法", 52) in d.legal_basis
    assert ("快递暂行条例", 26) in d.legal_basis


def test_never_delivered():
    d = run(signed_date=None)
    assert d.seven_day_return_eligible is None
    assert "NOT_YET_SIGNED" in d.reason_codes


def test_unknown_signing_is_cautious_not_not_signed():
    facts = make_facts()
    del facts["signed_date"]
    del facts["logistics_marked_signed_date"]
    d = decide(facts, today=TODAY)
    assert d.seven_day_return_eligible is None
    assert "NOT_YET_SIGNED" not in d.reason_codes


# --- scope ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"channel": "offline_store"}, "NOT_DISTANCE_SALE"),
        ({"service_not_goods": True, "signed_date": None}, "SERVICE_NOT_GOODS"),
        ({"channel": "food_delivery", "category": "外卖"}, "CATERING_SERVICE"),
        (
            {"channel": "secondhand_marketplace", "seller_type": "individual_non_business"},
            "NON_BUSINESS_SELLER",
        ),
    ],
)
def test_out_of_scope_is_null(overrides, code):
    d = run(**overrides)
    assert d.seven_day_return_eligible is None
    assert d.seven_day_deadline is None
    assert code in d.reason_codes


def test_business_seller_on_secondhand_platform_is_in_scope():
    d = run(channel="secondhand_marketplace")
    assert d.seven_day_return_eligible is True
    assert "BUSINESS_SELLER_SECONDHAND" in d.reason_codes


# --- statutory exclusions (第六条) ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("flag", "code"),
    [
        ("custom_made", "EXCLUDED_CUSTOM_MADE"),
        ("perishable", "EXCLUDED_PERISHABLE"),
        ("digital_opened", "EXCLUDED_DIGITAL_OPENED"),
        ("periodical", "EXCLUDED_PERIODICAL"),
    ],
)
def test_statutory_exclusions(flag, code):
    d = run(**{flag: True})
    assert d.seven_day_return_eligible is False
    assert code in d.reason_codes
    assert "WITHIN_WINDOW" not in d.reason_codes
    assert set(d.legal_basis) == {("消费者权益保护法", 25), ("网络购买商品七日无理由退货暂行办法", 6)}
    assert d.suggested_remedies == ["negotiate_goodwill"]
    assert d.return_shipping_payer is None


def test_sealed_software_is_not_excluded():
    d = run(product="正版办公软件光盘（未拆封）", category="软件")
    assert d.seven_day_return_eligible is True
    assert "DIGITAL_NOT_OPENED" in d.reason_codes


# --- exclusions the seller may declare (第七条、第二十条) ----------------------------------------
def test_merchant_exclusion_confirmed():
    d = run(merchant_exclusion_category=True, merchant_exclusion_confirmed=True, category="贴身衣物")
    assert d.seven_day_return_eligible is False
    assert d.reason_codes == ["EXCLUSION_CONFIRMED"]
    assert set(d.legal_basis) == {("网络购买商品七日无理由退货暂行办法", 7), ("网络购买商品七日无理由退货暂行办法", 20)}


def test_merchant_exclusion_confirmed_electronics_used_adds_condition():
    d = run(
        merchant_exclusion_category=True, merchant_exclusion_confirmed=True, category="数码", condition="used"
    )
    assert set(d.reason_codes) == {"EXCLUSION_CONFIRMED", "NOT_INTACT_USED"}
    assert ("网络购买商品七日无理由退货暂行办法", 9) in d.legal_basis


def test_merchant_exclusion_not_confirmed_does_not_bind():
    d = run(merchant_exclusion_category=True, merchant_exclusion_confirmed=False)
    assert d.seven_day_return_eligible is True
    assert "EXCLUSION_NOT_CONFIRMED" in d.reason_codes
    assert ("消费者权益保护法实施条例", 19) in d.legal_basis
    assert "platform_mediation" in d.suggested_remedies


def test_merchant_exclusion_unknown_confirmation_is_cautious():
    d = run(merchant_exclusion_category=True, merchant_exclusion_confirmed=None)
    assert d.seven_day_return_eligible is None


def test_confirmation_for_goods_outside_the_list_is_invalid():
    d = run(merchant_exclusion_category=False, merchant_exclusion_confirmed=True, product="特价T恤")
    assert d.seven_day_return_eligible is True
    assert "EXCLUSION_CATEGORY_INVALID" in d.reason_codes


# --- seller promises (网消解释第二条, 七日办法第五条) ---------------------------------------------
def test_seller_promise_overrides_exclusion():
    d = run(perishable=True, seller_promise="鲜花不满意七天无理由退")
    assert d.seven_day_return_eligible is True
    assert {"EXCLUDED_PERISHABLE", "SELLER_PROMISE_OVERRIDES_EXCLUSION"} <= set(d.reason_codes)
    assert "honor_promise" in d.suggested_remedies
    assert ("网络消费纠纷司法解释（一）", 2) in d.legal_basis


def test_seller_promise_extends_window():
    d = run(return_request_date="2026-03-15", complaint_date="2026-03-15", seller_promise="支持十五天无理由退货")
    assert d.seven_day_return_eligible is True
    assert d.seven_day_deadline == date(2026, 3, 10)
    assert {"OUTSIDE_WINDOW", "SELLER_PROMISE_EXTENDED_WINDOW"} <= set(d.reason_codes)


def test_promise_window_has_its_own_limit():
    d = run(return_request_date="2026-03-20", complaint_date="2026-03-20", seller_promise="支持15天无理由退货")
    assert d.seven_day_return_eligible is False


def test_promise_to_pay_return_shipping():
    d = run(seller_promise="七天无理由，退货包运费")
    assert d.return_shipping_payer == "seller"
    assert "RETURN_SHIPPING_BY_AGREEMENT" in d.reason_codes


def test_return_shipping_agreed_by_seller():
    d = run(return_shipping_agreed_by_seller=True)
    assert d.return_shipping_payer == "seller"
    assert "RETURN_SHIPPING_BY_AGREEMENT" in d.reason_codes
    assert "RETURN_SHIPPING_CONSUMER" not in d.reason_codes


# --- condition (第八、九条) ----------------------------------------------------------------------
def test_opened_for_inspection_is_intact():
    d = run(condition="opened", category="小家电", product="蓝牙音箱")
    assert d.seven_day_return_eligible is True
    assert "OPENED_FOR_INSPECTION_OK" in d.reason_codes
    assert ("网络消费纠纷司法解释（一）", 3) in d.legal_basis


def test_opened_seal_of_food_is_not_intact():
    d = run(condition="opened", food=True, category="零食", seal_broken=True)
    assert d.seven_day_return_eligible is False
    assert "NOT_INTACT_USED" in d.reason_codes
    # opening only the outer box to look leaves the one-time seal, and the goods, intact (第八条)
    d = run(condition="opened", food=True, category="零食")
    assert d.seven_day_return_eligible is True


def test_used_is_not_intact():
    d = run(condition="used")
    assert d.seven_day_return_eligible is False
    assert "NOT_INTACT_USED" in d.reason_codes
    assert set(d.legal_basis) == {("网络购买商品七日无理由退货暂行办法", 8), ("网络购买商品七日无理由退货暂行办法", 9)}


def test_damaged_in_consumer_sphere():
    d = run(condition="damaged_by_consumer")
    assert d.seven_day_return_eligible is False
    assert "NOT_INTACT_DAMAGED" in d.reason_codes


def test_unknown_condition_is_cautious():
    d = run(condition=None)
    assert d.seven_day_return_eligible is None


def test_outside_window_without_request_does_not_judge_condition():
    d = run(return_request_date=None, complaint_date="2026-04-01", condition="used")
    assert d.seven_day_return_eligible is False
    assert "NOT_INTACT_USED" not in d.reason_codes
    assert "OUTSIDE_WINDOW" in d.reason_codes


def test_minimal_facts_do_not_crash():
    d = decide({"platform": "某宝", "product": "耳机", "price_yuan": 99, "signed_date": "2026-05-15"}, today=TODAY)
    assert d.seven_day_deadline == date(2026, 5, 22)
    assert d.seven_day_return_eligible is None  # condition unknown
    assert decide({}, today=TODAY).seven_day_return_eligible is None
