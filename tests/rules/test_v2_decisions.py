"""The v2 decisions: 举报 beside 投诉, warranty and car 三包, prepaid cards, delivery rescission,
deposits, payments and renewals, endorsers, imported food; and the errors a legal review found.

Each test states the facts a consumer would give and checks the decision the articles give.
"""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.rules import decide
from knowledge.rules.evaluate import evaluate, load_cases
from knowledge.rules.seven_day import parse_promise

from .conftest import REPO, TODAY, make_facts

V2_CASES = REPO.parent / "shared" / "eval" / "cases_dev_v2.jsonl"


def run(**overrides):
    return decide(make_facts(**overrides), today=TODAY)


def refs(items) -> set[tuple[str, int]]:
    return {(law, int(article)) for law, article in items}


# --- 举报 and 投诉 -----------------------------------------------------------------------------


def test_refused_no_reason_return_can_be_reported_and_complained():
    d = run(condition="opened", seller_refused=True, seller_claimed_exclusion=True)
    assert d.seven_day_return_eligible is True
    assert d.report_recommended is True and "REPORT_ADMIN_VIOLATION" in d.reason_codes
    assert refs(d.report_basis) == {("市场监督管理投诉举报处理办法", 3), ("侵害消费者权益行为处罚办法", 9),
                                    ("网络购买商品七日无理由退货暂行办法", 31)}
    assert {"report_to_regulator", "complaint_to_market_regulator"} <= set(d.suggested_remedies)
    assert "举报" in d.explanation()


def test_wanting_both_redress_and_punishment_is_handled_separately():
    d = run(condition="opened", seller_refused=True, wants_punishment=True)
    assert "COMPLAINT_AND_REPORT_SEPARATE" in d.reason_codes
    assert ("市场监督管理投诉举报处理办法", 9) in refs(d.legal_basis)
    assert "platform_mediation" not in d.suggested_remedies


def test_a_civil_dispute_has_nothing_to_report():
    d = run(defect=True, condition="used", signed_date="2026-02-01", return_request_date="2026-03-20")
    assert d.report_recommended is False and d.report_basis == []
    assert "report_to_regulator" not in d.suggested_remedies


def test_asking_for_punishment_in_a_civil_dispute_gets_the_complaint_route_only():
    d = run(defect=True, condition="used", signed_date="2026-02-01", return_request_date="2026-03-20",
            wants_punishment=True)
    assert "COMPLAINT_ONLY_NO_ADMIN_VIOLATION" in d.reason_codes and d.report_recommended is False
    assert "complaint_to_market_regulator" in d.suggested_remedies


def test_someone_who_bought_nothing_can_only_report():
    d = run(reporter_only=True, price_yuan=0, food=True, food_safety_violation=True, food_expired=True,
            seller_knew_food_violation=True, signed_date=None)
    assert d.report_recommended is True
    assert set(d.reason_codes) == {"REPORT_ADMIN_VIOLATION", "REPORT_ONLY_NO_CONSUMER_DISPUTE"}
    assert d.suggested_remedies == ["report_to_regulator"]
    assert d.punitive.multiple == 0 and d.refund_amount_yuan is None


# --- punitive damages and food ----------------------------------------------------------------


def test_known_defect_with_serious_harm_claims_twice_the_loss_with_fraud_as_the_alternative():
    d = run(defect=True, defect_caused_harm=True, fraud=True, seller_knew_defect=True, injury="serious_or_death",
            loss_yuan=68000, price_yuan=459, condition="used", goods_destroyed=True)
    assert (d.punitive.multiple, d.punitive.amount_yuan, d.punitive.up_to) == (2, 136000, True)
    assert [(a.multiple, a.amount_yuan) for a in d.punitive.alternatives] == [(3, 1377)]
    assert "FRAUD_3X" not in d.reason_codes and "KNOWN_DEFECT_SERIOUS_HARM_2X" in d.reason_codes
    assert refs(d.report_basis) >= {("消费者权益保护法", 19), ("消费者权益保护法", 56)}
    assert {"claim_producer", "lawsuit", "compensate_losses"} <= set(d.suggested_remedies)


def test_imported_food_without_chinese_label_and_no_lawful_source():
    d = run(food=True, chinese_label_missing=True, food_safety_violation=True, no_legal_source=True,
            price_yuan=76, quantity=2, category="食品", product="进口饼干", condition="used")
    assert {"IMPORTED_FOOD_NO_CHINESE_LABEL", "SELLER_KNEW_NO_LEGAL_SOURCE", "FOOD_10X"} <= set(d.reason_codes)
    assert d.punitive.amount_yuan == 1000 and d.punitive.against == ["销售者"]
    assert refs(d.report_basis) >= {("食品安全法", 97), ("食品安全法", 125)}
    assert ("食品安全民事纠纷司法解释（一）", 6) in refs(d.legal_basis)


def test_fraud_by_a_live_guest_who_never_used_the_goods():
    d = run(channel="live_stream", fraud=True, defect=True, endorser_involved=True, endorser_knew_false=True,
            endorser_never_used=True, livestream_marked_actual_seller=True, price_yuan=899, condition="used",
            signed_date="2026-02-01", return_request_date="2026-03-01")
    assert "广告代言人" in d.other_liable_parties and "claim_endorser" in d.suggested_remedies
    assert {"LIVESTREAM_ENDORSER_JOINT_LIABILITY", "ENDORSER_NEVER_USED_PRODUCT", "FRAUD_3X"} <= set(d.reason_codes)
    assert "QUALITY_DEFECT" not in d.reason_codes  # the claim is refund plus 3×, not a repair
    own_room = decide(make_facts(channel="live_stream", fraud=True, livestream_marked_actual_seller=True,
                                 seller_own_live_room=True), today=TODAY)
    assert "LIVESTREAM_ROOM_MARKED_SELLER" not in own_room.reason_codes
    assert "pursue_seller_directly" not in own_room.suggested_remedies
    assert refs(d.report_basis) >= {("广告法", 38), ("广告法", 61), ("侵害消费者权益行为处罚办法", 6)}


# --- warranty and car 三包 ---------------------------------------------------------------------


def test_warranty_restarts_after_exchange_and_skips_repair_days():
    d = run(defect=True, condition="used", warranty_start_date="2025-03-10", warranty_months=12,
            warranty_repair_days=15, defect_found_date="2026-03-20")
    assert d.warranty_expiry_date == date(2026, 3, 25) and d.warranty_covered is True
    d = run(defect=True, condition="used", warranty_start_date="2025-03-10", warranty_months=12,
            warranty_exchange_date="2025-06-01", defect_found_date="2026-05-15")
    assert d.warranty_expiry_date == date(2026, 6, 1)
    assert "WARRANTY_RESTARTED_AFTER_EXCHANGE" in d.reason_codes


def test_warranty_months_end_on_a_real_day_in_leap_years():
    d = run(defect=True, condition="used", warranty_start_date="2027-02-28", warranty_months=12,
            defect_found_date="2028-02-28")
    assert d.warranty_expiry_date == date(2028, 2, 28)
    d = run(defect=True, condition="used", warranty_start_date="2028-02-29", warranty_months=12,
            defect_found_date="2029-03-01")
    assert d.warranty_expiry_date == date(2029, 2, 28) and d.warranty_covered is False


def car(**overrides):
    base = dict(channel="offline_store", product="家用轿车", category="汽车", price_yuan=150000, defect=True,
                condition="used", signed_date=None, warranty_start_date="2026-04-01", warranty_months=24)
    base.update(overrides)
    return run(**base)


def test_car_engine_within_seven_days_can_be_returned():
    d = car(defect_found_date="2026-04-06", vehicle_km=300, vehicle_fault="major_part")
    assert "VEHICLE_MAJOR_PART_7D_RETURN" in d.reason_codes and d.usage_compensation_yuan == 0
    assert {"exchange", "quality_return"} <= set(d.suggested_remedies)


def test_car_engine_after_seven_days_gets_a_free_engine_and_a_substitute_car():
    d = car(defect_found_date="2026-04-20", vehicle_km=1230, vehicle_fault="major_part", repair_wait_days=12)
    assert {"VEHICLE_MAJOR_PART_60D_FREE_REPLACEMENT", "VEHICLE_RETURN_CONDITIONS_NOT_MET",
            "VEHICLE_REPAIR_OVER_5_DAYS_SUBSTITUTE", "WARRANTY_COVERED"} <= set(d.reason_codes)
    assert d.warranty_expiry_date == date(2028, 4, 1)
    assert set(d.suggested_remedies) == {"repair", "compensate_losses"}
    assert all(law == "家用汽车产品修理更换退货责任规定" for law, _ in d.legal_basis)


def test_car_repeated_repairs_pay_the_usage_fee():
    d = car(defect_found_date="2027-01-10", vehicle_km=12000, vehicle_fault="other", warranty_repair_count=5,
            vehicle_usage_coefficient=0.5)
    assert "VEHICLE_REPEATED_REPAIR_RETURN" in d.reason_codes
    assert d.usage_compensation_yuan == 9000 and d.refund_amount_yuan == 141000


def test_car_brake_failure_within_sixty_days_is_a_free_return():
    d = car(defect_found_date="2026-05-01", vehicle_km=2500, vehicle_fault="critical_failure")
    assert "VEHICLE_CRITICAL_FAILURE_60D_RETURN" in d.reason_codes and d.usage_compensation_yuan == 0


def test_car_accessories_are_not_cars():
    d = run(product="车顶行李架", category="汽车用品", defect=True, condition="used")
    assert not any(c.startswith("VEHICLE_") for c in d.reason_codes)


# --- prepaid consumption ----------------------------------------------------------------------


def prepaid(**overrides):
    base = dict(channel="seller_own_site", service_not_goods=True, signed_date=None, product="游泳课",
                category="教育培训", prepaid_paid_date="2026-03-01", price_yuan=3000, prepaid_units_total=20)
    base.update(overrides)
    return run(**base)


def test_prepaid_refund_within_seven_days_of_paying_is_the_whole_principal():
    d = prepaid(refund_request_date="2026-03-08", prepaid_refund_cause="consumer", prepaid_units_used=0)
    assert d.prepaid_cooling_off_eligible is True and d.prepaid_cooling_off_deadline == date(2026, 3, 8)
    assert d.refund_amount_yuan == 3000 and d.interest_rate_basis is None
    assert "prepaid_cooling_off_refund" in d.suggested_remedies


def test_prepaid_cooling_off_excludes_a_consumer_who_had_the_service_before():
    d = prepaid(refund_request_date="2026-03-03", prepaid_prior_same_service=True, prepaid_refund_cause="consumer",
                prepaid_units_used=0)
    assert d.prepaid_cooling_off_eligible is False
    assert "PREPAID_COOLING_OFF_PRIOR_SERVICE" in d.reason_codes


@pytest.mark.parametrize(("cause", "refund", "basis"), [("business", 1800, "lpr_1y"),
                                                        ("consumer", 1400, "deposit_rate_1y")])
def test_prepaid_units_used_are_valued_by_whose_side_the_refund_is(cause, refund, basis):
    d = prepaid(refund_request_date="2026-05-01", prepaid_units_used=8, prepaid_list_unit_price_yuan=200,
                prepaid_refund_cause=cause, business_stopped_service=cause == "business")
    assert d.refund_amount_yuan == refund and d.interest_rate_basis == basis
    assert "claim_interest" in d.suggested_remedies


def test_prepaid_bonus_credit_counts_at_the_paid_ratio():
    d = prepaid(price_yuan=2000, prepaid_units_total=2500, prepaid_units_used=1000, prepaid_list_unit_price_yuan=1,
                prepaid_refund_cause="business", business_stopped_service=True, refund_request_date="2026-05-01")
    assert d.refund_amount_yuan == 1200 and "PREPAID_BONUS_RATIO" in d.reason_codes


def test_unlimited_card_stopped_refunds_the_rest_of_the_term_and_a_late_refund_is_reportable():
    d = prepaid(price_yuan=2920, prepaid_units_total=365, prepaid_units_used=146, prepaid_unlimited=True,
                prepaid_paid_date="2026-01-05", business_stopped_service=True, prepaid_refund_cause="business",
                refund_request_date="2026-04-01", complaint_date="2026-04-30")
    assert d.refund_amount_yuan == 1752
    assert {"PREPAID_UNLIMITED_PRO_RATA", "PREPAID_REFUND_DELAY_OVER_15_DAYS",
            "PREPAID_COOLING_OFF_EXPIRED"} <= set(d.reason_codes)
    assert d.report_recommended is True and ("侵害消费者权益行为处罚办法", 14) in refs(d.report_basis)


def test_a_stopped_service_not_refunded_for_15_days_is_late_even_before_the_amount_is_known():
    d = prepaid(prepaid_units_total=None, prepaid_paid_date="2026-01-05", business_stopped_service=True,
                prepaid_unlimited=True, refund_request_date="2026-04-01", complaint_date="2026-04-30")
    assert d.refund_amount_yuan is None and "PREPAID_REFUND_DELAY_OVER_15_DAYS" in d.reason_codes
    assert d.report_recommended is True
    assert d.explanation().startswith("【结论】本纠纷不适用七日无理由退货")


# --- delivery ---------------------------------------------------------------------------------


def late(**overrides):
    base = dict(signed_date=None, return_request_date=None, order_date="2026-05-06",
                promised_delivery_date="2026-05-08", complaint_date="2026-05-19", price_yuan=899)
    base.update(overrides)
    return run(**base)


def test_late_delivery_needs_a_reminder_before_rescission():
    d = late()
    assert d.can_rescind is False and "REMINDER_REQUIRED" in d.reason_codes
    assert "send_delivery_reminder" in d.suggested_remedies and d.refund_amount_yuan is None


def test_rescission_from_the_day_after_the_reminder_period():
    assert late(delivery_reminder_date="2026-05-12", reminder_period_days=4, complaint_date="2026-05-16").can_rescind \
        is False
    d = late(delivery_reminder_date="2026-05-12", reminder_period_days=4, complaint_date="2026-05-17")
    assert d.can_rescind is True and "RESCISSION_AFTER_REMINDER" in d.reason_codes and d.refund_amount_yuan == 899
    assert ("民法典", 563) in refs(d.legal_basis)


def test_a_gift_needed_by_a_date_can_be_rescinded_without_reminder():
    d = late(time_essential=True)
    assert d.can_rescind is True and "RESCISSION_PURPOSE_FRUSTRATED" in d.reason_codes


def test_goods_lost_before_delivery_are_the_sellers_loss():
    d = run(signed_date=None, goods_lost=True, return_request_date=None)
    assert "SELLER_BEARS_TRANSIT_RISK" in d.reason_codes and "negotiate_goodwill" not in d.suggested_remedies
    assert ("民法典", 604) in refs(d.legal_basis)


# --- deposits, payments, renewals -------------------------------------------------------------


def test_deposit_refund_follows_the_agreed_deduction():
    d = run(service_not_goods=True, signed_date=None, deposit_yuan=1000, deposit_deduction_yuan=300,
            refund_request_date="2026-03-01")
    assert d.refund_amount_yuan == 700 and "DEPOSIT_AGREED_DEDUCTION" in d.reason_codes
    assert d.report_recommended is False


def test_deposit_past_the_published_period_is_late_and_reportable():
    d = run(service_not_goods=True, signed_date=None, deposit_yuan=99, refund_request_date="2026-03-03",
            deposit_refund_working_days=7, complaint_date="2026-03-25")
    assert {"DEPOSIT_REFUND_DUE", "DEPOSIT_REFUND_LATE"} <= set(d.reason_codes) and d.refund_amount_yuan == 99
    assert ("电子商务法", 78) in refs(d.report_basis)


@pytest.mark.parametrize(("fault", "owed"), [(True, 1000), (False, 4000)])
def test_unauthorised_payment(fault, owed):
    d = run(channel="seller_own_site", signed_date=None, price_yuan=0, unauthorized_payment=True, loss_yuan=4000,
            loss_after_notice_yuan=1000, payment_user_at_fault=fault)
    assert d.refund_amount_yuan == owed and "电子支付服务提供者" in d.other_liable_parties
    assert d.report_recommended is False  # no market-regulation penalty for this duty in the corpus


def test_renewal_charged_without_notice_or_after_cancelling_is_refunded():
    d = run(service_not_goods=True, signed_date=None, price_yuan=168, auto_renewal=True, cancelled_before_charge=True)
    assert "AUTO_RENEWAL_CHARGED_AFTER_CANCEL" in d.reason_codes and d.refund_amount_yuan == 168
    assert ("网络交易监督管理办法", 18) in refs(d.legal_basis)


# --- errors found in review -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["定制商品不支持七天无理由退货", "退货运费由买家自理", "30天价保", "收货后7天内可退"])
def test_seller_text_that_promises_nothing_more_than_the_law(text):
    d = run(seller_promise=text, custom_made="定制" in text)
    assert "SELLER_TEXT_NOT_RETURN_PROMISE" in d.reason_codes
    assert "SELLER_PROMISE_OVERRIDES_EXCLUSION" not in d.reason_codes
    assert "SELLER_PROMISE_EXTENDED_WINDOW" not in d.reason_codes
    if "定制" in text:
        assert d.seven_day_return_eligible is False
    if "运费" in text:
        assert d.return_shipping_payer == "consumer"


def test_shipping_insurance_counts_only_when_the_seller_gives_it():
    assert parse_promise("卖家赠送运费险").pays_return_shipping is True
    assert parse_promise("我自己买了运费险").pays_return_shipping is False
    assert parse_promise("退货运费由商家承担").pays_return_shipping is True
    assert parse_promise("退货运费由买家自理").pays_return_shipping is False


def test_a_longer_return_window_counts_but_price_protection_does_not():
    assert parse_promise("30天无理由退货").days == 30
    assert parse_promise("30天价保").days is None


def test_opening_cosmetics_to_look_is_not_breaking_the_seal():
    opened = run(product="面霜", category="化妆品", condition="opened")
    assert opened.seven_day_return_eligible is True and "OPENED_FOR_INSPECTION_OK" in opened.reason_codes
    broken = run(product="面霜", category="化妆品", condition="opened", seal_broken=True)
    assert broken.seven_day_return_eligible is False


def test_the_notice_date_not_the_complaint_date_decides_the_window():
    d = run(signed_date="2026-06-02", return_request_date="2026-06-06", complaint_date="2026-06-18")
    assert d.seven_day_return_eligible is True


def test_every_v2_citation_resolves():
    d = run(condition="opened", seller_refused=True, wants_punishment=True)
    assert d.citations()
    for law, article in d.report_basis:
        assert article > 0 and law


# --- the development file ---------------------------------------------------------------------


def test_v2_dev_cases_and_v1_dev_cases():
    if not V2_CASES.exists():
        pytest.skip("v2 dev eval file not available")
    report = evaluate(load_cases(V2_CASES))
    low = {k: v for k, v in report["accuracy"].items() if v < 0.85}
    assert not low, report["failed"]
    for field in ("report_recommended", "punitive.amount_yuan", "refund_amount_yuan", "can_rescind",
                  "prepaid_cooling_off_eligible", "warranty_expiry_date", "usage_compensation_yuan"):
        assert report["accuracy"][field] == 1.0, (field, report["failed"][field])


def test_bought_to_sell_on_is_bulk_but_selling_my_data_is_a_leak():
    from knowledge.rules.narrative import extract

    assert "bulk_purchase" in extract("一次买了50箱，买来转卖的")
    leak = extract("商家把我的信息卖给别人了，天天有人打电话")
    assert "personal_info_leak" in leak and "bulk_purchase" not in leak
