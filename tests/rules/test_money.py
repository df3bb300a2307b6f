"""Refund amounts, refund dates, gifts, coupons, card fees, 满减, prepaid services, promises."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.rules import decide

from .conftest import TODAY, make_facts


def run(**kw):
    return decide(make_facts(**kw), today=TODAY)


def test_refund_due_seven_days_after_receipt_not_yet_overdue():
    d = run(seller_received_return_date="2026-03-12", complaint_date="2026-03-15")
    assert d.refund_due_date == date(2026, 3, 19)
    assert "REFUND_OVERDUE" not in d.reason_codes
    assert d.refund_amount_yuan == 120


def test_refund_overdue_but_not_15_days():
    d = run(seller_received_return_date="2026-03-12", complaint_date="2026-03-20")
    assert d.refund_due_date == date(2026, 3, 19)
    assert "REFUND_OVERDUE" in d.reason_codes
    assert "REFUND_DELAY_OVER_15_DAYS" not in d.reason_codes
    assert set(d.suggested_remedies) == {"refund", "platform_mediation", "complaint_to_market_regulator"}
    assert set(d.legal_basis) == {("网络购买商品七日无理由退货暂行办法", 13), ("消费者权益保护法", 25)}
    # the return already happened: no "consumer pays shipping" / "intact" codes any more
    assert "RETURN_SHIPPING_CONSUMER" not in d.reason_codes
    assert "CONDITION_INTACT" not in d.reason_codes


@pytest.mark.parametrize(("complaint", "deliberate"), [("2026-03-27", False), ("2026-03-28", True)])
def test_fifteen_day_deliberate_delay_boundary(complaint, deliberate):
    d = run(seller_received_return_date="2026-03-12", complaint_date=complaint)
    assert ("REFUND_DELAY_OVER_15_DAYS" in d.reason_codes) is deliberate
    assert (("侵害消费者权益行为处罚办法", 9) in d.legal_basis) is deliberate


def test_no_return_address_over_15_days():
    d = run(return_address_missing=True, return_request_date="2026-03-05", complaint_date="2026-03-25")
    assert "NO_RETURN_ADDRESS_OVER_15_DAYS" in d.reason_codes
    assert "complaint_to_market_regulator" in d.suggested_remedies


def test_coupon_returned_in_kind_refund_actual_payment():
    d = run(price_yuan=200, coupon_used=True)
    assert "COUPON_RETURNED_IN_KIND" in d.reason_codes
    assert d.refund_amount_yuan == 200
    assert set(d.legal_basis) == {("网络购买商品七日无理由退货暂行办法", 15), ("网络购买商品七日无理由退货暂行办法", 17)}


def test_card_fee_kept_by_seller():
    d = run(price_yuan=1000, card_fee_paid=True, card_fee_yuan=25)
    assert "CARD_FEE_NOT_REFUNDABLE" in d.reason_codes
    assert d.refund_amount_yuan == 1000
    assert ("网络购买商品七日无理由退货暂行办法", 16) in d.legal_basis


def test_card_fee_waived_by_seller_may_be_deducted():
    d = run(price_yuan=1000, card_fee_paid=True, card_fee_yuan=25, card_fee_waived_by_seller=True)
    assert d.refund_amount_yuan == 975


def test_gift_must_be_returned():
    d = run(gift_included=True)
    assert "GIFT_MUST_BE_RETURNED" in d.reason_codes
    assert "return_gift_or_pay_gift_price" in d.suggested_remedies
    assert ("网络购买商品七日无理由退货暂行办法", 12) in d.legal_basis


def test_partial_return_breaks_full_reduction():
    # README convention: 2 × 200, 满300减40, paid 360, one returned -> kept settled at 200 -> 160.
    d = run(
        price_yuan=360,
        quantity=2,
        full_reduction=[300, 40],
        item_list_prices=[200, 200],
        returned_list_prices=[200],
    )
    assert "PARTIAL_RETURN_DISCOUNT_RECALC" in d.reason_codes
    assert d.refund_amount_yuan == 160


def test_partial_return_keeping_the_threshold():
    d = run(
        price_yuan=560,
        quantity=3,
        full_reduction=[300, 40],
        item_list_prices=[200, 200, 200],
        returned_list_prices=[200],
    )
    assert "PARTIAL_RETURN_DISCOUNT_RECALC" not in d.reason_codes
    assert d.refund_amount_yuan == 200


def test_partial_return_from_narrative():
    facts = make_facts(price_yuan=360, quantity=2)
    facts["narrative"] = "两件衣服每件200，参加满300减40实付360，退了一件"
    d = decide(facts, today=TODAY)
    assert d.refund_amount_yuan == 160


def test_plain_return_has_no_refund_amount():
    assert run().refund_amount_yuan is None


@pytest.mark.parametrize(("total", "used", "expected"), [(24, 6, 1800), (10, 0, 2400), (12, 12, 0)])
def test_prepaid_pro_rata(total, used, expected):
    d = run(
        service_not_goods=True,
        signed_date=None,
        channel="seller_own_site",
        price_yuan=2400,
        service_stopped=True,
        prepaid_total_units=total,
        prepaid_used_units=used,
    )
    assert d.seven_day_return_eligible is None
    assert {"SERVICE_NOT_GOODS", "PREPAID_NOT_PROVIDED"} <= set(d.reason_codes)
    assert d.refund_amount_yuan == expected
    assert set(d.suggested_remedies) == {"refund_prepaid_balance", "complaint_to_market_regulator"}
    assert ("消费者权益保护法", 53) in d.legal_basis


def test_prepaid_without_session_counts_has_no_amount():
    d = run(service_not_goods=True, signed_date=None, service_stopped=True)
    assert d.refund_amount_yuan is None
    assert "PREPAID_NOT_PROVIDED" in d.reason_codes


def test_promise_multiple_is_computed_when_triggered():
    d = run(fraud=True, seller_promise="假一赔十", price_yuan=80)
    assert d.promise_compensation_yuan == 800
    assert d.punitive.amount_yuan == 500
    assert "honor_promise" in d.suggested_remedies


def test_promise_multiple_not_triggered_without_fraud():
    assert run(seller_promise="假一赔十").promise_compensation_yuan is None
